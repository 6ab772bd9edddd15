import { Alert, Button, Checkbox, Group, Modal, SegmentedControl, Stack, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { BatchTarget, ModelInfo, Recipe } from '../../../shared/api';
import { addsColour } from '../../../shared/ops';
import { useApi } from '../api/context';
import { FolderField } from './FolderField';
import { RecipePanel } from './RecipePanel';
import { useToast } from './Toasts';

/** One recipe over a selection, a whole project or a folder; already-done items can be skipped. */
export function BatchModal(props: {
  opened: boolean;
  onClose: () => void;
  projectId: number;
  selection: number[];
  recipe: Recipe;
  setRecipe: (r: Recipe) => void;
  models: ModelInfo[];
  dialogs: boolean;
  onStarted: () => void;
}) {
  const api = useApi();
  const toast = useToast();
  const [target, setTarget] = useState<'selection' | 'project' | 'folder'>('project');
  const [folder, setFolder] = useState('');
  const [skipDone, setSkipDone] = useState(true);
  const [colourAnyway, setColourAnyway] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (props.opened) setTarget(props.selection.length ? 'selection' : 'project');
  }, [props.opened, props.selection.length]);

  const start = async () => {
    const t: BatchTarget =
      target === 'selection'
        ? { kind: 'assets', ids: props.selection }
        : target === 'project'
          ? { kind: 'project', projectId: props.projectId }
          : { kind: 'folder', projectId: props.projectId, path: folder.trim() };
    setBusy(true);
    setError(null);
    try {
      const r = await api.call('batch.start', {
        target: t,
        recipe: props.recipe,
        skipDone,
        colourInputs: colourAnyway ? 'colorize' : 'skip',
      });
      const colour = r.skippedColour;
      const colourLine = colour.length
        ? ` ${colour.length} already in colour, left out (colorize would replace their colours): ${colour
            .slice(0, 5)
            .map((c) => c.name)
            .join(', ')}${colour.length > 5 ? ', …' : ''}.`
        : '';
      const imported = r.import
        ? ` (${r.import.added.length} imported${r.import.errors.length ? `, ${r.import.errors.length} not importable` : ''})`
        : '';
      toast({
        title: r.queued ? `Batch started: ${r.queued} queued` : 'Nothing to do',
        message:
          `${r.skipped - colour.length || colour.length === 0 ? `${r.skipped - colour.length} already done or in the queue${imported}.` : imported.trim()}${colourLine}`.trim(),
      });
      props.onStarted();
      props.onClose();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal opened={props.opened} onClose={props.onClose} title="Batch" size="lg" centered>
      <Stack>
        <SegmentedControl
          value={target}
          onChange={(v) => setTarget(v as typeof target)}
          data={[
            {
              value: 'selection',
              label: `Selection (${props.selection.length})`,
              disabled: props.selection.length === 0,
            },
            { value: 'project', label: 'Whole project' },
            { value: 'folder', label: 'A folder' },
          ]}
          data-testid="batch-target"
        />
        {target === 'folder' && (
          <FolderField
            label="Folder"
            description="Imported into this project first (recursively), then rendered."
            placeholder="/home/me/Pictures/scans"
            value={folder}
            onChange={setFolder}
            dialogs={props.dialogs}
            testId="batch-folder"
          />
        )}
        <RecipePanel recipe={props.recipe} onChange={props.setRecipe} models={props.models} />
        <Checkbox
          label="Skip items already rendered with this exact recipe"
          checked={skipDone}
          onChange={(e) => setSkipDone(e.currentTarget.checked)}
        />
        {addsColour(props.recipe.ops) && (
          <Checkbox
            label="Colorize photos and films that are already in colour too"
            description="Left out by default: colorize would replace their colours."
            checked={colourAnyway}
            onChange={(e) => setColourAnyway(e.currentTarget.checked)}
            data-testid="batch-colour-anyway"
          />
        )}
        <Text size="xs" c="dimmed">
          A file that fails is reported in the queue; the others go on.
        </Text>
        {error && <Alert color="red">{error}</Alert>}
        <Group justify="flex-end">
          <Button
            onClick={() => void start()}
            loading={busy}
            disabled={props.recipe.ops.length === 0 || (target === 'folder' && !folder.trim())}
            data-testid="batch-start"
          >
            Start batch
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
