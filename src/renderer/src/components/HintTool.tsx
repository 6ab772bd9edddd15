import { Button, ColorInput, Group, Slider, Stack, Switch, Text, Tooltip } from '@mantine/core';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Recipe } from '../../../shared/api';
import { HINT_LIMITS, parseHintFile, type Hint } from '../../../shared/hints';

/**
 * Colour hints in the photo view (issue #17): the user paints strokes over the picture; each is a
 * hint in the picture's own pixels (src/shared/hints.ts) that becomes part of the recipe of this
 * photo only. Hints are kept per photo (this browser's storage), with undo and redo.
 */

const key = (assetId: number) => `tintype.hints.${assetId}`;

function load(assetId: number): Hint[] {
  try {
    const r = parseHintFile(localStorage.getItem(key(assetId)) ?? '');
    return r.ok ? r.hints : [];
  } catch {
    return [];
  }
}

export interface HintState {
  hints: Hint[];
  add: (h: Hint) => void;
  replace: (hs: Hint[]) => void;
  undo: () => void;
  redo: () => void;
  canUndo: boolean;
  canRedo: boolean;
}

/** The hints of one photo, with an undo/redo history of whole hint lists. */
export function useAssetHints(assetId: number): HintState {
  const [state, setState] = useState(() => ({
    id: assetId,
    past: [] as Hint[][],
    now: load(assetId),
    future: [] as Hint[][],
  }));
  const current = state.id === assetId ? state : { id: assetId, past: [], now: load(assetId), future: [] };
  useEffect(() => {
    if (state.id !== assetId) setState({ id: assetId, past: [], now: load(assetId), future: [] });
  }, [assetId, state.id]);
  useEffect(() => {
    if (state.id !== assetId) return;
    if (state.now.length) localStorage.setItem(key(assetId), JSON.stringify({ hints: state.now }));
    else localStorage.removeItem(key(assetId));
  }, [state, assetId]);
  const set = (next: Hint[]) =>
    setState((s) => ({ ...s, past: [...s.past, s.now].slice(-100), now: next, future: [] }));
  return {
    hints: current.now,
    add: (h) => set([...current.now, h]),
    replace: (hs) => set(hs),
    undo: () =>
      setState((s) =>
        s.past.length
          ? { ...s, past: s.past.slice(0, -1), now: s.past[s.past.length - 1], future: [s.now, ...s.future] }
          : s,
      ),
    redo: () =>
      setState((s) =>
        s.future.length ? { ...s, past: [...s.past, s.now], now: s.future[0], future: s.future.slice(1) } : s,
      ),
    canUndo: current.past.length > 0,
    canRedo: current.future.length > 0,
  };
}

/** The recipe a photo is previewed and rendered with: its hints added to colorize's options. */
export function withHints(recipe: Recipe, hints: Hint[]): Recipe {
  if (!recipe.ops.includes('colorize') || hints.length === 0) return recipe;
  return { ...recipe, options: { ...recipe.options, hints } };
}

/** The recipe without hints (the one kept for every photo and batch). */
export function withoutHints(recipe: Recipe): Recipe {
  const { hints: _drop, ...options } = recipe.options;
  void _drop;
  return { ...recipe, options };
}

export interface Brush {
  /** Screen pixels. */
  size: number;
  color: string;
  strength: number;
  erase: boolean;
  show: boolean;
}

export const DEFAULT_BRUSH: Brush = { size: 12, color: '#3b6fd6', strength: 1, erase: false, show: true };

/** Side-panel controls: brush, colour (with an eyedropper on a reference photo), history, files. */
export function HintControls(props: {
  state: HintState;
  brush: Brush;
  onBrush: (b: Brush) => void;
  painting: boolean;
  onPainting: (on: boolean) => void;
  onError: (message: string) => void;
}) {
  const { state, brush, onBrush } = props;
  const [reference, setReference] = useState<string | null>(null);
  const refImg = useRef<HTMLImageElement | null>(null);
  useEffect(() => () => void (reference && URL.revokeObjectURL(reference)), [reference]);

  const pick = (e: React.MouseEvent<HTMLImageElement>) => {
    const img = refImg.current;
    if (!img) return;
    const r = img.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * img.naturalWidth);
    const y = Math.floor(((e.clientY - r.top) / r.height) * img.naturalHeight);
    const c = document.createElement('canvas');
    c.width = 1;
    c.height = 1;
    const g = c.getContext('2d');
    if (!g) return;
    g.drawImage(img, x, y, 1, 1, 0, 0, 1, 1);
    const [R, G, B] = g.getImageData(0, 0, 1, 1).data;
    const hex = `#${[R, G, B].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
    onBrush({ ...brush, color: hex, erase: false });
  };

  const exportHints = () => {
    const blob = new Blob([JSON.stringify({ hints: state.hints }, null, 1)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'hints.json';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  const importHints = async (file: File) => {
    const r = parseHintFile(await file.text());
    if (r.ok) state.replace(r.hints);
    else props.onError(`${file.name}: not a valid hint file: ${r.error}`);
  };

  return (
    <Stack gap={6} data-testid="hint-tool">
      <Group justify="space-between">
        <Switch
          label="Paint colour hints"
          checked={props.painting}
          onChange={(e) => props.onPainting(e.currentTarget.checked)}
          data-testid="hint-paint"
        />
        <Text size="xs" c="dimmed" data-testid="hint-count">
          {state.hints.length} stroke{state.hints.length === 1 ? '' : 's'}
        </Text>
      </Group>
      {props.painting && (
        <>
          <Group gap="xs" wrap="nowrap" align="end">
            <ColorInput
              size="xs"
              label="Colour"
              value={brush.color}
              onChange={(v) => /^#[0-9a-f]{6}$/i.test(v) && onBrush({ ...brush, color: v, erase: false })}
              format="hex"
              withEyeDropper={false}
              style={{ flex: 1 }}
              data-testid="hint-colour"
            />
            <Button
              size="xs"
              variant={brush.erase ? 'filled' : 'default'}
              onClick={() => onBrush({ ...brush, erase: !brush.erase })}
              data-testid="hint-eraser"
              aria-pressed={brush.erase}
            >
              Eraser
            </Button>
          </Group>
          <Text size="xs">Brush size {brush.size} px</Text>
          <Slider
            min={2}
            max={80}
            value={brush.size}
            onChange={(v) => onBrush({ ...brush, size: v })}
            aria-label="Brush size"
            data-testid="hint-size"
          />
          <Text size="xs">Strength {Math.round(brush.strength * 100)} %</Text>
          <Slider
            min={0.1}
            max={1}
            step={0.05}
            value={brush.strength}
            onChange={(v) => onBrush({ ...brush, strength: v })}
            aria-label="Hint strength"
            data-testid="hint-strength"
          />
          <Group gap={4}>
            <Button
              size="compact-xs"
              variant="default"
              disabled={!state.canUndo}
              onClick={state.undo}
              data-testid="hint-undo"
            >
              Undo
            </Button>
            <Button
              size="compact-xs"
              variant="default"
              disabled={!state.canRedo}
              onClick={state.redo}
              data-testid="hint-redo"
            >
              Redo
            </Button>
            <Button
              size="compact-xs"
              variant="default"
              onClick={() => onBrush({ ...brush, show: !brush.show })}
              data-testid="hint-show"
            >
              {brush.show ? 'Hide strokes' : 'Show strokes'}
            </Button>
            <Button
              size="compact-xs"
              variant="default"
              disabled={state.hints.length === 0}
              onClick={() => state.replace([])}
              data-testid="hint-clear"
            >
              Clear
            </Button>
          </Group>
          <Group gap={4}>
            <Button
              size="compact-xs"
              variant="default"
              disabled={state.hints.length === 0}
              onClick={exportHints}
            >
              Export JSON
            </Button>
            <Button size="compact-xs" variant="default" component="label">
              Import JSON
              <input
                type="file"
                accept="application/json,.json"
                hidden
                onChange={(e) => {
                  const f = e.currentTarget.files?.[0];
                  if (f) void importHints(f);
                  e.currentTarget.value = '';
                }}
              />
            </Button>
            <Button size="compact-xs" variant="default" component="label">
              Reference photo…
              <input
                type="file"
                accept="image/*"
                hidden
                data-testid="hint-reference-file"
                onChange={(e) => {
                  const f = e.currentTarget.files?.[0];
                  if (f) setReference(URL.createObjectURL(f));
                  e.currentTarget.value = '';
                }}
              />
            </Button>
          </Group>
          {reference && (
            <Tooltip label="Click to pick a colour from the reference photo">
              <img
                ref={refImg}
                src={reference}
                alt="Reference colour photo: click to pick a colour"
                onClick={pick}
                // It opens at the foot of a long side panel: bring it into view to pick from.
                onLoad={(e) => e.currentTarget.scrollIntoView({ block: 'nearest' })}
                style={{ width: '100%', borderRadius: 4, cursor: 'crosshair' }}
                data-testid="hint-reference"
              />
            </Tooltip>
          )}
          <Text size="xs" c="dimmed">
            Paint on the picture: the colour follows its edges; the brightness stays the original&apos;s.
          </Text>
        </>
      )}
    </Stack>
  );
}

/**
 * The painting surface: the picture (the live preview when there is one) fitted into the viewer,
 * with the strokes drawn over it; a drag adds one stroke, in the picture's own pixels.
 */
export function HintCanvas(props: {
  src: string;
  /** The photo's size (the picture's pixels that hints are given in). */
  width: number;
  height: number;
  hints: Hint[];
  brush: Brush;
  onStroke: (h: Hint) => void;
  label: string;
  /** An image laid over the picture under the strokes (the repair mask, MaskTool.tsx). */
  overlay?: string;
}) {
  const img = useRef<HTMLImageElement | null>(null);
  const [draft, setDraft] = useState<Hint | null>(null);
  const drafting = useRef<Hint | null>(null);
  const [natural, setNatural] = useState<{ w: number; h: number } | null>(null);
  // The picture's pixels along the displayed image's axes (EXIF rotation may swap the photo's
  // width and height): the long sides correspond.
  const long = Math.max(props.width, props.height);
  const dims = natural
    ? {
        w: (natural.w / Math.max(natural.w, natural.h)) * long,
        h: (natural.h / Math.max(natural.w, natural.h)) * long,
      }
    : { w: props.width, h: props.height };

  const toPicture = useCallback(
    (e: React.PointerEvent) => {
      const r = img.current!.getBoundingClientRect();
      // A tenth of a pixel is finer than any brush; it keeps recipes short.
      const tenth = (v: number) => Math.round(v * 10) / 10;
      return {
        x: tenth(((e.clientX - r.left) / r.width) * dims.w),
        y: tenth(((e.clientY - r.top) / r.height) * dims.h),
        perPx: dims.w / r.width,
      };
    },
    [dims.w, dims.h],
  );
  const down = (e: React.PointerEvent) => {
    if (!img.current) return;
    (e.target as Element).setPointerCapture?.(e.pointerId);
    const p = toPicture(e);
    const radius = Math.min(
      HINT_LIMITS.radius.max,
      Math.max(HINT_LIMITS.radius.min, (props.brush.size / 2) * p.perPx),
    );
    const h: Hint = props.brush.erase
      ? { points: [[p.x, p.y]], radius, strength: props.brush.strength, erase: true }
      : { points: [[p.x, p.y]], radius, color: props.brush.color, strength: props.brush.strength };
    drafting.current = h;
    setDraft(h);
  };
  const move = (e: React.PointerEvent) => {
    const h = drafting.current;
    if (!h) return;
    const p = toPicture(e);
    const [lx, ly] = h.points[h.points.length - 1];
    // A point every 2 screen pixels is plenty; a stroke stops growing at its limit.
    if (Math.hypot(p.x - lx, p.y - ly) < 2 * p.perPx || h.points.length >= HINT_LIMITS.maxPoints) return;
    const next = { ...h, points: [...h.points, [p.x, p.y] as [number, number]] };
    drafting.current = next;
    setDraft(next);
  };
  const up = () => {
    const h = drafting.current;
    drafting.current = null;
    setDraft(null);
    if (h) props.onStroke(h);
  };
  const shown = props.brush.show ? [...props.hints, ...(draft ? [draft] : [])] : draft ? [draft] : [];

  return (
    <div
      style={{
        width: '100%',
        height: '100%',
        display: 'flex',
        alignItems: 'center',
        justifyContent: 'center',
      }}
      data-testid="hint-canvas"
    >
      <div
        style={{
          position: 'relative',
          width: natural ? `min(100%, calc((100vh - 170px) * ${natural.w / natural.h}))` : undefined,
          maxWidth: '100%',
          lineHeight: 0,
        }}
      >
        <img
          ref={img}
          src={props.src}
          alt={props.label}
          draggable={false}
          onLoad={(e) => setNatural({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })}
          style={{
            // As large as the viewer allows, whatever the size of the (small) preview.
            width: natural ? `min(100%, calc((100vh - 170px) * ${natural.w / natural.h}))` : undefined,
            maxWidth: '100%',
            display: 'block',
            userSelect: 'none',
          }}
          data-testid="hint-image"
        />
        {props.overlay && (
          <img
            src={props.overlay}
            alt=""
            draggable={false}
            style={{ position: 'absolute', inset: 0, width: '100%', height: '100%', opacity: 0.55 }}
            data-testid="brush-overlay"
          />
        )}
        <svg
          viewBox={`0 0 ${dims.w} ${dims.h}`}
          preserveAspectRatio="none"
          style={{
            position: 'absolute',
            inset: 0,
            width: '100%',
            height: '100%',
            cursor: 'crosshair',
            touchAction: 'none',
          }}
          onPointerDown={down}
          onPointerMove={move}
          onPointerUp={up}
          onPointerCancel={up}
          role="img"
          aria-label="Paint colour hints here"
          data-testid="hint-surface"
        >
          {shown.map((h, i) => (
            <polyline
              key={i}
              points={(h.points.length === 1 ? [h.points[0], h.points[0]] : h.points)
                .map((p) => p.join(','))
                .join(' ')}
              fill="none"
              stroke={h.erase ? '#ffffff' : h.color}
              strokeOpacity={h.erase ? 0.6 : 0.45}
              strokeDasharray={h.erase ? `${h.radius} ${h.radius}` : undefined}
              strokeWidth={2 * h.radius}
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          ))}
        </svg>
      </div>
    </div>
  );
}
