import { Alert, Button, Group, List, Modal, NumberInput, Select, Stack, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ExportFormat, Res, Settings } from '../../../shared/api';
import { useApi } from '../api/context';
import { FolderField } from './FolderField';

const FORMATS: { value: ExportFormat; label: string; group: 'Image' | 'Video' }[] = [
  { value: 'jpg', label: 'JPEG', group: 'Image' },
  { value: 'png', label: 'PNG (lossless)', group: 'Image' },
  { value: 'tif', label: 'TIFF, 16-bit', group: 'Image' },
  { value: 'mp4', label: 'MP4 (H.264)', group: 'Video' },
  { value: 'mkv', label: 'Matroska (MKV)', group: 'Video' },
  { value: 'mov', label: 'QuickTime (MOV)', group: 'Video' },
  { value: 'frames', label: 'Image sequence', group: 'Video' },
];

/** Copies finished renders out of the library: JPEG, PNG, 16-bit TIFF; video formats for films. */
export function ExportModal(props: {
  opened: boolean;
  onClose: () => void;
  renderIds: number[];
  settings: Settings | undefined;
  dialogs: boolean;
  video: boolean;
}) {
  const api = useApi();
  const [format, setFormat] = useState<ExportFormat>('jpg');
  const [folder, setFolder] = useState('');
  const [quality, setQuality] = useState<number>(92);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Res<'export.run'> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!props.opened) return;
    setResult(null);
    setError(null);
    if (props.settings) {
      setFormat(props.settings.outputFormat);
      setFolder(props.settings.outputFolder);
      setQuality(props.settings.jpegQuality);
    }
  }, [props.opened, props.settings]);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(
        await api.call('export.run', {
          renderIds: props.renderIds,
          format,
          folder: folder.trim() || undefined,
          quality,
        }),
      );
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const groups = ['Image', 'Video'].map((g) => ({
    group: g,
    items: FORMATS.filter((f) => f.group === g).map((f) => ({
      value: f.value,
      label: f.label,
      disabled: g === 'Video' && !props.video,
    })),
  }));

  return (
    <Modal
      opened={props.opened}
      onClose={props.onClose}
      title={`Export ${props.renderIds.length} render${props.renderIds.length === 1 ? '' : 's'}`}
      centered
    >
      <Stack>
        <Select
          label="Format"
          data={groups}
          value={format}
          onChange={(v) => v && setFormat(v as ExportFormat)}
          allowDeselect={false}
          data-testid="export-format"
        />
        {format === 'jpg' && (
          <NumberInput
            label="JPEG quality"
            min={40}
            max={100}
            value={quality}
            onChange={(v) => setQuality(Number(v) || 92)}
          />
        )}
        <FolderField
          label="Folder"
          placeholder="Pictures/Tintype (default)"
          description="Existing files are never replaced; a new one gets a number."
          value={folder}
          onChange={setFolder}
          dialogs={props.dialogs}
          testId="export-folder"
        />
        {error && <Alert color="red">{error}</Alert>}
        {result && (
          <Alert
            color={result.errors.length ? 'yellow' : 'green'}
            title={`${result.files.length} file${result.files.length === 1 ? '' : 's'} written to ${result.folder}`}
            data-testid="export-result"
          >
            <List size="xs">
              {result.files.map((f) => (
                <List.Item key={f.path}>{f.path}</List.Item>
              ))}
              {result.errors.map((e) => (
                <List.Item key={e.renderId}>
                  <Text size="xs" c="red">
                    {e.error}
                  </Text>
                </List.Item>
              ))}
            </List>
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={props.onClose}>
            Close
          </Button>
          <Button
            onClick={() => void run()}
            loading={busy}
            disabled={props.renderIds.length === 0}
            data-testid="export-run"
          >
            Export
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
