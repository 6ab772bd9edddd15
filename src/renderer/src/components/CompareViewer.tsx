import { Badge, Box, Button, Group, Loader, Paper, Text } from '@mantine/core';
import { useEffect, useRef, useState, type CSSProperties, type PointerEvent as RPointerEvent } from 'react';

/** Zooming out below "fit" is allowed down to this (1:1 of a small image can be smaller than fit). */
const MIN_SCALE = 0.05;

export interface ViewState {
  scale: number;
  x: number;
  y: number;
}
export const FIT: ViewState = { scale: 1, x: 0, y: 0 };
export type CompareMode = 'slider' | 'side';

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Zoom by `factor` keeping the point (px, py) of the pane where it is. */
export function zoomAt(v: ViewState, factor: number, px: number, py: number): ViewState {
  const scale = clamp(v.scale * factor, MIN_SCALE, 64);
  const k = scale / v.scale;
  if (scale === 1) return FIT;
  return { scale, x: px - (px - v.x) * k, y: py - (py - v.y) * k };
}

function Layer({
  src,
  view,
  alt,
  testId,
  onNatural,
}: {
  src: string | null;
  view: ViewState;
  alt: string;
  testId: string;
  onNatural?: (w: number, h: number) => void;
}) {
  const style: CSSProperties = {
    position: 'absolute',
    inset: 0,
    transformOrigin: '0 0',
    transform: `translate(${view.x}px, ${view.y}px) scale(${view.scale})`,
    willChange: 'transform',
  };
  return (
    <div style={style} data-layer>
      {src && (
        <img
          src={src}
          alt={alt}
          draggable={false}
          data-testid={testId}
          onLoad={(e) => onNatural?.(e.currentTarget.naturalWidth, e.currentTarget.naturalHeight)}
          style={{
            width: '100%',
            height: '100%',
            objectFit: 'contain',
            imageRendering: view.scale > 3 ? 'pixelated' : 'auto',
            userSelect: 'none',
          }}
        />
      )}
    </div>
  );
}

/**
 * Covers the "after" side while a preview computes, or while there is nothing to show there yet:
 * otherwise the original shows through under an "After" label and reads as a result.
 */
function AfterPending({ busy, split = 0 }: { busy: boolean; split?: number }) {
  return (
    <div
      data-testid="after-pending"
      data-state={busy ? 'computing' : 'empty'}
      style={{
        position: 'absolute',
        inset: 0,
        clipPath: split ? `inset(0 0 0 ${split * 100}%)` : undefined,
        paddingLeft: `${split * 100}%`,
        display: 'flex',
        alignItems: 'center',
        justifyContent: 'center',
        background: 'rgba(20, 20, 20, 0.55)',
        backdropFilter: 'grayscale(1) blur(2px)',
        pointerEvents: 'none',
      }}
    >
      <Group gap={8}>
        {busy && <Loader size="sm" color="white" />}
        <Text c="white" fw={600} size="sm">
          {busy ? 'computing…' : 'no result yet'}
        </Text>
      </Group>
    </div>
  );
}

/** Pan with drag, zoom with the wheel; both panes (or both layers) share one view, so they stay in sync. */
function usePanZoom(view: ViewState, onView: (v: ViewState) => void) {
  const drag = useRef<{ x: number; y: number; vx: number; vy: number } | null>(null);
  const wheelTarget = useRef<HTMLDivElement | null>(null);
  const viewRef = useRef(view);
  viewRef.current = view;
  useEffect(() => {
    const el = wheelTarget.current;
    if (!el) return;
    // A passive listener could not stop the page from scrolling; React's onWheel is passive.
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      const pane = el.querySelector('[data-pane]')?.getBoundingClientRect().width ?? r.width;
      const px = (e.clientX - r.left) % pane;
      onView(zoomAt(viewRef.current, Math.exp(-e.deltaY * 0.0015), px, e.clientY - r.top));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [onView]);
  const handlers = {
    onPointerDown: (e: RPointerEvent<HTMLDivElement>) => {
      if ((e.target as HTMLElement).dataset.divider) return;
      e.currentTarget.setPointerCapture(e.pointerId);
      drag.current = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
    },
    onPointerMove: (e: RPointerEvent<HTMLDivElement>) => {
      const d = drag.current;
      if (!d || view.scale === 1) return;
      onView({ ...view, x: d.vx + e.clientX - d.x, y: d.vy + e.clientY - d.y });
    },
    onPointerUp: () => {
      drag.current = null;
    },
    onDoubleClick: () => onView(FIT),
  };
  return { wheelTarget, handlers };
}

/** The size of the element, kept up to date. */
function useSize(ref: { current: HTMLElement | null }, deps: readonly unknown[]): { w: number; h: number } {
  const [size, setSize] = useState({ w: 0, h: 0 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setSize({ w: el.clientWidth, h: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, deps);
  return size;
}

export function CompareViewer(props: {
  /** Display copies (at most 2048 px): what fits on screen. */
  before: string | null;
  after: string | null;
  /** Full-resolution images, used once zooming goes past what the display copies hold. */
  beforeFull?: string | null;
  afterFull?: string | null;
  /** The result's full size in pixels: "100%" shows it 1:1. */
  pixels: { width: number; height: number } | null;
  afterLabel: string;
  /** What "before" is when it is not the original (another render, to compare two). */
  beforeLabel?: string;
  mode: CompareMode;
  view: ViewState;
  onView: (v: ViewState) => void;
  busy?: boolean;
}) {
  const { mode, view, onView } = props;
  const root = useRef<HTMLDivElement | null>(null);
  const paneEl = useRef<HTMLElement | null>(null);
  useEffect(() => {
    paneEl.current = root.current?.querySelector<HTMLElement>('[data-pane]') ?? root.current;
  });
  // Natural sizes of the display copies (before sets the fit; each side switches to full size alone).
  const [nat, setNat] = useState<{ w: number; h: number } | null>(null);
  const [natAfter, setNatAfter] = useState<number | null>(null);
  useEffect(() => setNat(null), [props.before]);
  useEffect(() => setNatAfter(null), [props.after]);
  const pane = useSize(paneEl, [mode, props.before]);
  // Width the display copy takes on screen at "fit" (object-fit: contain in the pane).
  const fitW = nat && pane.w ? Math.min(pane.w / nat.w, pane.h / nat.h) * nat.w : 0;
  const shownW = fitW * view.scale;
  const pct = props.pixels && fitW ? (shownW / props.pixels.width) * 100 : null;
  // Past the display copy's own pixels, the full-size images take over (tiles of detail, not blur).
  const full = nat !== null && shownW > nat.w * 1.05;
  const fullAfter = natAfter !== null && shownW > natAfter * 1.05;
  const before = (full && props.beforeFull) || props.before;
  const after = props.after ? (fullAfter && props.afterFull) || props.after : null;
  const oneToOne = () => {
    if (!props.pixels || !fitW) return;
    onView(zoomAt(FIT, props.pixels.width / fitW, pane.w / 2, pane.h / 2));
  };
  const toolbar = (
    <Paper
      shadow="xs"
      radius="md"
      p={4}
      style={{ position: 'absolute', right: 8, bottom: 8, zIndex: 2 }}
      onPointerDown={(e) => e.stopPropagation()}
      onDoubleClick={(e) => e.stopPropagation()}
    >
      <Group gap={4} wrap="nowrap">
        <Button size="compact-xs" variant="default" onClick={() => onView(FIT)} data-testid="zoom-fit">
          Fit
        </Button>
        <Button
          size="compact-xs"
          variant="default"
          onClick={oneToOne}
          disabled={!props.pixels || !fitW}
          aria-label="Zoom to 100% (1:1 pixels)"
          data-testid="zoom-1to1"
        >
          100%
        </Button>
        <Text size="xs" w={52} ta="right" data-testid="zoom-level" data-full={fullAfter}>
          {pct === null ? '–' : `${pct >= 10 ? Math.round(pct) : pct.toFixed(1)}%`}
        </Text>
      </Group>
    </Paper>
  );
  const pending = props.busy || !after;
  const afterLabel = props.busy ? 'Computing preview…' : after ? props.afterLabel : 'After: no result yet';
  const [split, setSplit] = useState(0.5);
  const { wheelTarget, handlers } = usePanZoom(view, onView);
  const dividerDrag = useRef(false);
  const box: CSSProperties = {
    position: 'relative',
    overflow: 'hidden',
    height: '100%',
    cursor: view.scale > 1 ? 'grab' : 'zoom-in',
    touchAction: 'none',
  };

  if (mode === 'side') {
    return (
      <Box ref={root} style={{ position: 'relative', height: '100%' }}>
        <Box
          ref={wheelTarget}
          style={{ display: 'flex', gap: 4, height: '100%' }}
          {...handlers}
          data-testid="compare-side"
        >
          {[
            { src: before, label: props.beforeLabel ?? 'Before', id: 'before-image' },
            { src: after, label: afterLabel, id: 'after-image' },
          ].map((p) => (
            <div key={p.id} data-pane style={{ ...box, flex: 1, background: 'var(--mantine-color-body)' }}>
              <Layer
                src={p.src}
                view={view}
                alt={p.label}
                testId={p.id}
                onNatural={
                  p.id === 'before-image'
                    ? !full
                      ? (w, h) => setNat({ w, h })
                      : undefined
                    : !fullAfter
                      ? (w) => setNatAfter(w)
                      : undefined
                }
              />
              {p.id === 'after-image' && pending && <AfterPending busy={!!props.busy} />}
              <Badge style={{ position: 'absolute', left: 8, top: 8 }} variant="default">
                {p.label}
              </Badge>
            </div>
          ))}
        </Box>
        {toolbar}
      </Box>
    );
  }

  return (
    <Box ref={root} style={{ position: 'relative', height: '100%' }}>
      <Box
        ref={wheelTarget}
        data-pane
        data-testid="compare-slider"
        style={box}
        {...handlers}
        onPointerMove={(e) => {
          if (dividerDrag.current) {
            const r = e.currentTarget.getBoundingClientRect();
            setSplit(clamp((e.clientX - r.left) / r.width, 0, 1));
          } else handlers.onPointerMove(e);
        }}
        onPointerUp={() => {
          dividerDrag.current = false;
          handlers.onPointerUp();
        }}
      >
        <Layer
          src={before}
          view={view}
          alt={props.beforeLabel ?? 'Before'}
          testId="before-image"
          onNatural={!full ? (w, h) => setNat({ w, h }) : undefined}
        />
        <div style={{ position: 'absolute', inset: 0, clipPath: `inset(0 0 0 ${split * 100}%)` }}>
          <Layer
            src={after}
            view={view}
            alt={afterLabel}
            testId="after-image"
            onNatural={!fullAfter ? (w) => setNatAfter(w) : undefined}
          />
        </div>
        {pending && <AfterPending busy={!!props.busy} split={split} />}
        <div
          data-divider="1"
          role="slider"
          aria-label="Before/after divider"
          aria-valuenow={Math.round(split * 100)}
          aria-valuemin={0}
          aria-valuemax={100}
          tabIndex={0}
          onPointerDown={(e) => {
            e.stopPropagation();
            e.currentTarget.parentElement?.setPointerCapture(e.pointerId);
            dividerDrag.current = true;
          }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowLeft') setSplit((s) => clamp(s - 0.05, 0, 1));
            if (e.key === 'ArrowRight') setSplit((s) => clamp(s + 0.05, 0, 1));
            e.stopPropagation();
          }}
          style={{
            position: 'absolute',
            top: 0,
            bottom: 0,
            left: `calc(${split * 100}% - 12px)`,
            width: 24,
            cursor: 'ew-resize',
            display: 'flex',
            justifyContent: 'center',
          }}
        >
          <div
            data-divider="1"
            style={{ width: 2, height: '100%', background: 'white', boxShadow: '0 0 4px rgba(0,0,0,.6)' }}
          />
        </div>
        <Badge style={{ position: 'absolute', left: 8, top: 8 }} variant="default" data-testid="before-label">
          {props.beforeLabel ?? 'Before'}
        </Badge>
        <Badge style={{ position: 'absolute', right: 8, top: 8 }} variant="default" data-testid="after-label">
          {afterLabel}
        </Badge>
      </Box>
      {toolbar}
    </Box>
  );
}
