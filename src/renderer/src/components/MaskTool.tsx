import { Button, Group, SegmentedControl, Slider, Stack, Switch, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { Recipe } from '../../../shared/api';
import type { Hint } from '../../../shared/hints';
import { MaskEditsSchema, type MaskStroke } from '../../../shared/repair';

/**
 * The repair mask in the photo view (issue #19): the mask repair used is laid over the photo in red
 * (the live preview answers it), and the user paints strokes that add to it or erase from it. The
 * strokes are this photo's (kept in this browser's storage, like colour hints) and go into the
 * recipe it is previewed and rendered with (options.maskEdits, src/shared/repair.ts). The painting
 * surface is the colour hints' one (HintTool.tsx's HintCanvas); only the controls are here.
 */

const key = (assetId: number) => `tintype.mask.${assetId}`;

function load(assetId: number): MaskStroke[] {
  try {
    const r = MaskEditsSchema.safeParse(JSON.parse(localStorage.getItem(key(assetId)) ?? '[]'));
    return r.success ? r.data : [];
  } catch {
    return [];
  }
}

export interface MaskEditState {
  edits: MaskStroke[];
  add: (s: MaskStroke) => void;
  replace: (s: MaskStroke[]) => void;
  undo: () => void;
}

/** The mask strokes of one photo. */
export function useMaskEdits(assetId: number): MaskEditState {
  const [state, setState] = useState(() => ({ id: assetId, edits: load(assetId) }));
  const current = state.id === assetId ? state.edits : load(assetId);
  useEffect(() => {
    if (state.id !== assetId) setState({ id: assetId, edits: load(assetId) });
  }, [assetId, state.id]);
  useEffect(() => {
    if (state.id !== assetId) return;
    if (state.edits.length) localStorage.setItem(key(assetId), JSON.stringify(state.edits));
    else localStorage.removeItem(key(assetId));
  }, [state, assetId]);
  const set = (edits: MaskStroke[]) => setState({ id: assetId, edits });
  return {
    edits: current,
    add: (s) => set([...current, s]),
    replace: set,
    undo: () => set(current.slice(0, -1)),
  };
}

/** The recipe a photo is previewed and rendered with: its mask strokes added to repair's options. */
export function withMaskEdits(recipe: Recipe, edits: MaskStroke[]): Recipe {
  if (!recipe.ops.includes('repair') || edits.length === 0) return recipe;
  return { ...recipe, options: { ...recipe.options, maskEdits: edits } };
}

/** The recipe without mask strokes (the one kept for every photo and batch). */
export function withoutMaskEdits(recipe: Recipe): Recipe {
  const { maskEdits: _drop, ...options } = recipe.options;
  void _drop;
  return { ...recipe, options };
}

/** The brush of the mask tool; its strokes are drawn like colour hints, red for "repair here". */
export interface MaskBrush {
  /** Screen pixels. */
  size: number;
  erase: boolean;
}
export const DEFAULT_MASK_BRUSH: MaskBrush = { size: 16, erase: false };
export const MASK_COLOUR = '#ff2828';

/** Mask strokes as the hint canvas draws them (a colour for added strokes), and back. */
export const strokesAsHints = (edits: MaskStroke[]): Hint[] =>
  edits.map((s) =>
    s.erase ? { ...s, strength: 1, erase: true } : { ...s, strength: 1, color: MASK_COLOUR },
  );
export const hintAsStroke = (h: Hint): MaskStroke => ({
  points: h.points,
  radius: h.radius,
  ...(h.erase ? { erase: true } : {}),
});

/** Side-panel controls: edit on/off, brush or eraser, size, undo, clear. */
export function MaskControls(props: {
  state: MaskEditState;
  brush: MaskBrush;
  onBrush: (b: MaskBrush) => void;
  editing: boolean;
  onEditing: (on: boolean) => void;
}) {
  const { state, brush, onBrush } = props;
  const added = state.edits.filter((s) => !s.erase).length;
  const erased = state.edits.length - added;
  return (
    <Stack gap={6} data-testid="mask-tool">
      <Group justify="space-between">
        <Switch
          label="Edit the repair mask"
          checked={props.editing}
          onChange={(e) => props.onEditing(e.currentTarget.checked)}
          data-testid="mask-edit"
        />
        <Text size="xs" c="dimmed" data-testid="mask-count">
          {added} added · {erased} erased
        </Text>
      </Group>
      {props.editing && (
        <>
          <SegmentedControl
            size="xs"
            value={brush.erase ? 'erase' : 'brush'}
            onChange={(v) => onBrush({ ...brush, erase: v === 'erase' })}
            data={[
              { value: 'brush', label: 'Brush: repair here' },
              { value: 'erase', label: 'Eraser: keep' },
            ]}
            data-testid="mask-mode"
          />
          <Group gap="xs" wrap="nowrap">
            <Text size="xs">Size</Text>
            <Slider
              style={{ flex: 1 }}
              min={2}
              max={80}
              value={brush.size}
              onChange={(v) => onBrush({ ...brush, size: v })}
              aria-label="Mask brush size"
              data-testid="mask-size"
            />
          </Group>
          <Group gap="xs">
            <Button size="compact-xs" variant="default" disabled={!state.edits.length} onClick={state.undo}>
              Undo
            </Button>
            <Button
              size="compact-xs"
              variant="default"
              disabled={!state.edits.length}
              onClick={() => state.replace([])}
              data-testid="mask-clear"
            >
              Clear strokes
            </Button>
          </Group>
          <Text size="xs" c="dimmed">
            Red is what repair fills. Paint over damage it missed; erase texture it took for damage. The
            damage found is kept: an edit only fills again.
          </Text>
        </>
      )}
    </Stack>
  );
}
