import {
  Alert,
  Button,
  Group,
  Modal,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
} from '@mantine/core';
import { useEffect, useState } from 'react';
import type { Res, Settings } from '../../../shared/api';
import { useApi } from '../api/context';
import { DefaultModels } from './DefaultModels';

type Loaded = Res<'settings.get'>;

/** Engine, output, library and appearance settings. The library location applies at the next start. */
export function SettingsModal(props: {
  opened: boolean;
  onClose: () => void;
  settings: Loaded | undefined;
  onSaved: (s: Loaded) => void;
  info: Res<'app.info'> | undefined;
}) {
  const api = useApi();
  const [draft, setDraft] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (props.opened && props.settings) {
      const { restartRequired: _r, ...s } = props.settings;
      setDraft(s);
      setError(null);
    }
  }, [props.opened, props.settings]);
  if (!draft) return null;
  const set = <K extends keyof Settings>(k: K, v: Settings[K]) => setDraft({ ...draft, [k]: v });

  const save = async () => {
    setBusy(true);
    try {
      const s = await api.call('settings.update', draft);
      props.onSaved(s);
      props.onClose();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal opened={props.opened} onClose={props.onClose} title="Settings" size="lg" centered>
      <Stack gap="sm">
        <Text fw={600} size="sm">
          Engine
        </Text>
        <Group grow align="end">
          <Select
            label="Execution provider"
            description="a GPU where one works, else the CPU"
            data={[
              { value: 'auto', label: 'Automatic' },
              { value: 'cpu', label: 'CPU' },
              { value: 'cuda', label: 'NVIDIA CUDA' },
              { value: 'dml', label: 'DirectML (Windows GPU)' },
              { value: 'coreml', label: 'Core ML (Mac)' },
            ]}
            value={draft.executionProvider}
            onChange={(v) => v && set('executionProvider', v as Settings['executionProvider'])}
            allowDeselect={false}
            data-testid="settings-ep"
          />
          <NumberInput
            label="Threads"
            description="0 = all cores"
            min={0}
            max={256}
            value={draft.threads}
            onChange={(v) => set('threads', Number(v) || 0)}
          />
          <NumberInput
            label="Jobs at once"
            description="renders side by side"
            min={1}
            max={16}
            value={draft.concurrency}
            onChange={(v) => set('concurrency', Math.max(1, Number(v) || 1))}
          />
        </Group>
        <Text fw={600} size="sm" mt="xs">
          Default models
        </Text>
        <Text size="xs" c="dimmed" mt={-8}>
          Used when a recipe names no model; a change applies to the next render.
        </Text>
        <DefaultModels />
        <Text fw={600} size="sm" mt="xs">
          Output
        </Text>
        <Group grow align="start">
          <TextInput
            label="Default export folder"
            placeholder="Pictures/Tintype"
            value={draft.outputFolder}
            onChange={(e) => set('outputFolder', e.currentTarget.value)}
          />
          <Select
            label="Default format"
            data={[
              { value: 'jpg', label: 'JPEG' },
              { value: 'png', label: 'PNG' },
              { value: 'tif', label: 'TIFF 16-bit' },
            ]}
            value={draft.outputFormat}
            onChange={(v) => v && set('outputFormat', v as Settings['outputFormat'])}
            allowDeselect={false}
          />
          <NumberInput
            label="JPEG quality"
            min={40}
            max={100}
            value={draft.jpegQuality}
            onChange={(v) => set('jpegQuality', Number(v) || 92)}
          />
        </Group>
        <Switch
          label="Mark colorized output with a small “AI-colorized” note"
          checked={draft.watermark}
          onChange={(e) => set('watermark', e.currentTarget.checked)}
        />
        <Text fw={600} size="sm" mt="xs">
          Library
        </Text>
        <TextInput
          label="Library location"
          description={
            props.settings?.restartRequired
              ? 'Changed: takes effect when Tintype restarts.'
              : 'Moving it takes effect at the next start (copy the folder yourself to keep its contents).'
          }
          value={draft.libraryDir}
          onChange={(e) => set('libraryDir', e.currentTarget.value)}
        />
        <TextInput
          label="Render farm (Redis URL)"
          description="The queue panel shows this farm's jobs and workers (docs/farm.md); empty for none."
          placeholder="redis://farm-host:6379"
          value={draft.farmRedis}
          onChange={(e) => set('farmRedis', e.currentTarget.value.trim())}
        />
        <Switch
          label="New projects copy originals into the library"
          checked={draft.copyOriginals}
          onChange={(e) => set('copyOriginals', e.currentTarget.checked)}
        />
        <Text fw={600} size="sm" mt="xs">
          Appearance
        </Text>
        <SegmentedControl
          value={draft.theme}
          onChange={(v) => set('theme', v as Settings['theme'])}
          data={[
            { value: 'auto', label: 'System' },
            { value: 'light', label: 'Light' },
            { value: 'dark', label: 'Dark' },
          ]}
          data-testid="settings-theme"
        />
        {props.info && (
          <Text size="xs" c="dimmed">
            Tintype {props.info.version} · {props.info.mode === 'electron' ? 'desktop' : 'browser'} · log:{' '}
            {props.info.logFile}
          </Text>
        )}
        {error && <Alert color="red">{error}</Alert>}
        <Group justify="flex-end">
          <Button variant="default" onClick={props.onClose}>
            Cancel
          </Button>
          <Button onClick={() => void save()} loading={busy} data-testid="settings-save">
            Save
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
