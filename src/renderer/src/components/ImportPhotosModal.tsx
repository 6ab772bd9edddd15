import { Alert, Button, FileButton, Group, List, Modal, Stack, Text, Textarea } from '@mantine/core';
import { useState } from 'react';
import type { ImportReport } from '../../../shared/api';
import { useApi } from '../api/context';
import { uploadAll } from '../api/upload';

/**
 * Import files or whole folders (recursively: photos, scans, TIFF stacks, films). The desktop app has
 * native dialogs; in a browser the paths on the server's machine are typed in.
 */
export function ImportPhotosModal(props: {
  opened: boolean;
  onClose: () => void;
  projectId: number | null;
  dialogs: boolean;
  initial?: 'files' | 'folder';
}) {
  const api = useApi();
  const [paths, setPaths] = useState('');
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async (list: string[]) => {
    if (!props.projectId || list.length === 0) return;
    setBusy(true);
    setError(null);
    try {
      setReport(await api.call('assets.import', { projectId: props.projectId, paths: list }));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const upload = async (files: File[]) => {
    if (!props.projectId || files.length === 0) return;
    setBusy(true);
    setError(null);
    try {
      setReport(await uploadAll(api, props.projectId, files));
    } finally {
      setBusy(false);
    }
  };
  const pick = async (kind: 'files' | 'folder') => {
    const r = await api.call(kind === 'files' ? 'dialog.openFiles' : 'dialog.openFolder', {});
    await run(r.paths);
  };
  const close = () => {
    setReport(null);
    setError(null);
    props.onClose();
  };

  return (
    <Modal opened={props.opened} onClose={close} title="Import photos and films" size="lg" centered>
      <Stack>
        {props.dialogs && (
          <Group>
            <Button onClick={() => void pick('files')} loading={busy}>
              Choose files…
            </Button>
            <Button variant="default" onClick={() => void pick('folder')} loading={busy}>
              Choose a folder…
            </Button>
          </Group>
        )}
        {!props.dialogs && api.upload && (
          <Group>
            <FileButton onChange={(f) => void upload(f)} multiple accept="image/*,video/*,.tif,.tiff,.heic">
              {(p) => (
                <Button {...p} loading={busy} data-testid="upload-files">
                  Upload files from this computer…
                </Button>
              )}
            </FileButton>
            <Text size="xs" c="dimmed">
              or drop them on the library
            </Text>
          </Group>
        )}
        <Textarea
          label={
            props.dialogs
              ? 'Or paste paths'
              : "Or type paths on the server's machine (files or folders, one per line)"
          }
          description="Folders are searched recursively. Originals are only read, never changed."
          placeholder="/home/me/Pictures/scans"
          autosize
          minRows={2}
          value={paths}
          onChange={(e) => setPaths(e.currentTarget.value)}
          data-testid="import-paths"
        />
        <Group justify="flex-end">
          <Button
            onClick={() =>
              void run(
                paths
                  .split('\n')
                  .map((p) => p.trim())
                  .filter(Boolean),
              )
            }
            loading={busy}
            disabled={!paths.trim()}
            data-testid="import-run"
          >
            Import
          </Button>
        </Group>
        {error && <Alert color="red">{error}</Alert>}
        {report && (
          <Alert
            color={report.errors.length ? 'yellow' : 'green'}
            title={`Imported ${report.added.length} item${report.added.length === 1 ? '' : 's'}`}
            data-testid="import-report"
          >
            <Text size="sm">
              {report.duplicates.length} already in this project.{' '}
              {report.added.filter((a) => a.problem).length} added but unreadable.
            </Text>
            {report.errors.length > 0 && (
              <List size="xs" mt="xs">
                {report.errors.map((e) => (
                  <List.Item key={e.path}>{e.error}</List.Item>
                ))}
              </List>
            )}
          </Alert>
        )}
      </Stack>
    </Modal>
  );
}
