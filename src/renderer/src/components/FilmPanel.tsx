import { Alert, Box, Button, Checkbox, Group, Loader, Select, Slider, Text } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import type { Asset, Recipe, Render } from '../../../shared/api';
import { describeOps } from '../../../shared/ops';
import { useApi } from '../api/context';

/** Seconds as m:ss.cc, the way a film's time reads on a scrubber. */
export function formatTimecode(sec: number): string {
  const s = Math.max(0, sec);
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(2).padStart(5, '0')}`;
}

/** Length of a range preview: a few seconds, enough to see the recipe move (flicker, colour drift). */
const CLIP_SECONDS = 3;

export type FilmMode = 'frame' | 'watch';

/**
 * A film's or an image stack's state in the item view: the frame the scrubber chose (the base of the
 * live preview and the "before" image); for a film also whether the viewer shows frames or plays,
 * and the last range preview.
 */
export function useFilm(asset: Asset | undefined) {
  const api = useApi();
  const isFilm = asset?.kind === 'video' && !asset.problem;
  const isStack = asset?.kind === 'stack' && !asset.problem && (asset.pages ?? 0) > 1;
  const assetId = asset?.id ?? null;
  const [mode, setMode] = useState<FilmMode>('frame');
  /** null: the display frame chosen at import (a tenth of the way in). */
  const [atSec, setAtSec] = useState<number | null>(null);
  const [settledAt] = useDebouncedValue(atSec, 200);
  /** A stack's frame, 0-based; null: the first, which its display copy shows. */
  const [page, setPage] = useState<number | null>(null);
  const [settledPage] = useDebouncedValue(page, 200);
  const [frame, setFrame] = useState<{ atSec: number | null; page: number | null; media: string } | null>(
    null,
  );
  const [frameError, setFrameError] = useState<string | null>(null);
  const [clip, setClip] = useState<{ media: string; label: string; startSec: number } | null>(null);
  const [clipBusy, setClipBusy] = useState(false);
  const [clipError, setClipError] = useState<string | null>(null);
  const clipSeq = useRef(0);

  useEffect(() => {
    setMode('frame');
    setAtSec(null);
    setPage(null);
    setFrame(null);
    setClip(null);
    setClipError(null);
    setFrameError(null);
  }, [assetId]);

  // The chosen frame as a display copy, for "before" (one request per settled position).
  useEffect(() => {
    if (assetId === null) return;
    const ask =
      isFilm && settledAt !== null
        ? api
            .call('video.frame', { assetId, atSec: settledAt })
            .then((f) => ({ atSec: f.atSec, page: null, media: f.media }))
        : isStack && settledPage !== null
          ? api
              .call('stack.frame', { assetId, page: settledPage })
              .then((f) => ({ atSec: null, page: f.page, media: f.media }))
          : null;
    if (!ask) return;
    let stale = false;
    ask.then(
      (f) => {
        if (stale) return;
        setFrame(f);
        setFrameError(null);
      },
      (err: Error) => !stale && setFrameError(err.message),
    );
    return () => {
      stale = true;
    };
  }, [api, isFilm, isStack, assetId, settledAt, settledPage]);

  const previewRange = useCallback(
    async (recipe: Recipe, startSec: number) => {
      if (assetId === null) return;
      const seq = ++clipSeq.current;
      setClipBusy(true);
      setClipError(null);
      try {
        const r = await api.call('preview.clip', {
          assetId,
          recipe,
          startSec,
          durationSec: CLIP_SECONDS,
          maxEdge: 320,
        });
        if (seq !== clipSeq.current || r.superseded || !r.media) return;
        setClip({
          media: r.media,
          startSec,
          label: `Range preview ${formatTimecode(startSec)} + ${CLIP_SECONDS} s · ${describeOps(recipe.ops, recipe.options)} · ${r.width}×${r.height} · ${(r.ms / 1000).toFixed(1)} s`,
        });
        setMode('watch');
      } catch (err) {
        if (seq === clipSeq.current) setClipError((err as Error).message);
      } finally {
        if (seq === clipSeq.current) setClipBusy(false);
      }
    },
    [api, assetId],
  );

  const cancelRange = useCallback(() => {
    clipSeq.current++;
    setClipBusy(false);
    void api.call('preview.cancelClip', {}).catch(() => {});
  }, [api]);

  /** What a preview request adds to ask for the chosen frame (nothing: the display copy). */
  const chosen: { atSec: number } | { page: number } | null =
    isFilm && settledAt !== null
      ? { atSec: settledAt }
      : isStack && settledPage !== null
        ? { page: settledPage }
        : null;

  return {
    isFilm,
    isStack,
    mode,
    setMode,
    /** The time asked for (moves with the scrubber) and the one whose frame is shown (settled). */
    atSec,
    settledAt,
    setAtSec,
    /** A stack's frame asked for (moves with the scrubber). */
    page,
    setPage,
    chosen,
    frame: isFilm || isStack ? frame : null,
    frameError,
    clip,
    clipBusy,
    clipError,
    previewRange,
    cancelRange,
  };
}

export type Film = ReturnType<typeof useFilm>;

/**
 * The scrubber under the viewer that picks the frame for the live preview: a film's time or a
 * stack's frame, the same control for both; `children` are the actions beside it.
 */
function FrameScrubber(props: {
  min: number;
  max: number;
  step: number;
  value: number;
  onChange: (v: number) => void;
  format: (v: number) => string;
  readout: string;
  disabled?: boolean;
  error: string | null;
  testId: string;
  children?: ReactNode;
}) {
  return (
    <Box data-testid={`${props.testId}-bar`}>
      <Group gap="sm" wrap="nowrap" align="center">
        <Text size="xs" c="dimmed" style={{ whiteSpace: 'nowrap' }} id={`${props.testId}-label`}>
          Frame for the preview
        </Text>
        <Slider
          style={{ flex: 1 }}
          min={props.min}
          max={props.max}
          step={props.step}
          value={props.value}
          onChange={props.onChange}
          label={props.format}
          disabled={props.disabled}
          thumbProps={{ 'aria-labelledby': `${props.testId}-label` }}
          thumbValueText={props.format}
          data-testid={props.testId}
        />
        <Text
          size="xs"
          ff="monospace"
          style={{ whiteSpace: 'nowrap' }}
          data-testid={`${props.testId}-readout`}
        >
          {props.readout}
        </Text>
        {props.children}
      </Group>
      {props.error && (
        <Alert color="red" p="xs" mt={4} data-testid={`${props.testId}-error`}>
          <Text size="xs">{props.error}</Text>
        </Alert>
      )}
    </Box>
  );
}

/** A film's scrubber: picks the frame for the live preview; previews a range from it. */
export function FilmBar(props: { film: Film; asset: Asset; recipe: Recipe }) {
  const { film, asset, recipe } = props;
  const duration = asset.durationSec ?? 0;
  const step = 1 / (asset.fps && asset.fps > 0 ? asset.fps : 25);
  const shown = film.atSec ?? film.frame?.atSec ?? null;
  return (
    <FrameScrubber
      testId="film-scrubber"
      min={0}
      max={Math.max(duration - step, step)}
      step={step}
      value={shown ?? 0}
      onChange={(v) => film.setAtSec(v)}
      format={formatTimecode}
      readout={`${shown === null ? 'display frame' : formatTimecode(shown)} / ${formatTimecode(duration)}`}
      disabled={duration <= 0}
      error={film.clipError ?? film.frameError}
    >
      {film.clipBusy ? (
        <Button size="compact-xs" variant="default" onClick={film.cancelRange} data-testid="clip-cancel">
          <Loader size={12} mr={6} /> Stop range preview
        </Button>
      ) : (
        <Button
          size="compact-xs"
          variant="default"
          disabled={recipe.ops.length === 0}
          onClick={() => void film.previewRange(recipe, shown ?? 0)}
          data-testid="clip-button"
        >
          Preview {CLIP_SECONDS} s from here
        </Button>
      )}
    </FrameScrubber>
  );
}

/** An image stack's scrubber (microscopy, multi-page TIFF): picks the frame for the live preview. */
export function StackBar(props: { film: Film; asset: Asset }) {
  const { film, asset } = props;
  const pages = asset.pages ?? 1;
  const shown = film.page ?? 0;
  return (
    <FrameScrubber
      testId="stack-scrubber"
      min={0}
      max={pages - 1}
      step={1}
      value={shown}
      onChange={(v) => film.setPage(v)}
      format={(v) => `frame ${v + 1} of ${pages}`}
      readout={`frame ${shown + 1} / ${pages}`}
      error={film.frameError}
    />
  );
}

type Source = { kind: 'source' } | { kind: 'render'; id: number } | { kind: 'clip' };
const sourceValue = (s: Source) => (s.kind === 'render' ? `render-${s.id}` : s.kind);
type Playing = { key: string; note: string | null };

/** Asks the backend for something a <video> plays (the source, or a render through its copy). */
function usePlayable(assetId: number, renderId: number | null | undefined, enabled: boolean) {
  const api = useApi();
  const [media, setMedia] = useState<Playing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [preparing, setPreparing] = useState(false);
  useEffect(() => {
    setError(null);
    setMedia(null);
    if (!enabled) return;
    let stale = false;
    setPreparing(true);
    api
      .call('video.playable', { assetId, ...(renderId ? { renderId } : {}) })
      .then(
        (p) =>
          !stale &&
          setMedia({ key: p.media, note: p.copy ? 'a copy for playback (H.264, at most 1280 px)' : null }),
        (err: Error) => !stale && setError(err.message),
      )
      .finally(() => !stale && setPreparing(false));
    return () => {
      stale = true;
    };
  }, [api, assetId, renderId, enabled]);
  return { media, error, preparing };
}

/**
 * Keeps `follower` on `leader`'s time (plus `offset`: a range preview starts later in the source):
 * play, pause, seeks, speed, and a nudge when playback drifts apart by more than a few frames.
 */
function useFollow(leader: HTMLVideoElement | null, follower: HTMLVideoElement | null, offset: number): void {
  useEffect(() => {
    if (!leader || !follower) return;
    const align = () => {
      const t = leader.currentTime + offset;
      if (Math.abs(follower.currentTime - t) > 0.12) follower.currentTime = t;
    };
    const play = () => {
      align();
      void follower.play().catch(() => {});
    };
    const pause = () => {
      follower.pause();
      follower.currentTime = leader.currentTime + offset;
    };
    const rate = () => (follower.playbackRate = leader.playbackRate);
    const events: [string, () => void][] = [
      ['play', play],
      ['pause', pause],
      ['seeked', () => (leader.paused ? pause() : align())],
      ['ratechange', rate],
      ['timeupdate', align],
    ];
    for (const [n, f] of events) leader.addEventListener(n, f);
    follower.muted = true;
    rate();
    align();
    return () => {
      for (const [n, f] of events) leader.removeEventListener(n, f);
    };
  }, [leader, follower, offset]);
}

/**
 * Plays the source film, a finished render or the last range preview, alone or beside the source
 * (kept in step). Lossless masters and sources in codecs a browser does not play are watched through
 * a copy the backend makes (video.playable); "Use this frame" hands the paused time to the scrubber.
 */
export function FilmPlayer(props: { film: Film; asset: Asset; renders: Render[] }) {
  const { film, asset } = props;
  const api = useApi();
  const done = props.renders.filter((r) => r.status === 'done');
  const [source, setSource] = useState<Source>(() =>
    film.clip ? { kind: 'clip' } : done[0] ? { kind: 'render', id: done[0].id } : { kind: 'source' },
  );
  // A new range preview is what the user asked to see.
  const clipMedia = film.clip?.media;
  useEffect(() => {
    if (clipMedia) setSource({ kind: 'clip' });
  }, [clipMedia]);
  const [beside, setBeside] = useState(false);
  const key = sourceValue(source);
  const chosen = usePlayable(asset.id, source.kind === 'render' ? source.id : null, source.kind !== 'clip');
  const media: Playing | null =
    source.kind === 'clip' ? (clipMedia ? { key: clipMedia, note: null } : null) : chosen.media;
  const comparing = beside && source.kind !== 'source';
  const original = usePlayable(asset.id, null, comparing);
  const [leader, setLeader] = useState<HTMLVideoElement | null>(null);
  const [follower, setFollower] = useState<HTMLVideoElement | null>(null);
  useFollow(
    comparing ? leader : null,
    comparing ? follower : null,
    source.kind === 'clip' ? (film.clip?.startSec ?? 0) : 0,
  );

  const options = [
    { value: 'source', label: 'Source film' },
    ...done.map((r) => ({
      value: `render-${r.id}`,
      label: `Render #${r.id} · ${describeOps(r.recipe.ops, r.recipe.options)}`,
    })),
    ...(film.clip ? [{ value: 'clip', label: 'Range preview' }] : []),
  ];
  const choose = (v: string | null) => {
    if (!v) return;
    setSource(
      v === 'source'
        ? { kind: 'source' }
        : v === 'clip'
          ? { kind: 'clip' }
          : { kind: 'render', id: Number(v.slice('render-'.length)) },
    );
  };
  const error = source.kind === 'clip' ? null : chosen.error;
  const pane = (p: {
    playing: Playing | null;
    label: string;
    testId: string;
    refTo: (v: HTMLVideoElement | null) => void;
    controls: boolean;
    loop: boolean;
  }) => (
    <Box style={{ flex: 1, minWidth: 0, position: 'relative' }}>
      {p.playing && (
        <video
          ref={p.refTo}
          key={p.playing.key}
          src={api.mediaUrl(p.playing.key)}
          controls={p.controls}
          preload="metadata"
          loop={p.loop}
          aria-label={p.label}
          style={{ width: '100%', height: '100%', objectFit: 'contain', display: 'block' }}
          data-testid={p.testId}
          data-media={p.playing.key}
        />
      )}
      {comparing && (
        <Text
          size="xs"
          fw={700}
          c="white"
          style={{
            position: 'absolute',
            top: 6,
            left: 8,
            background: 'rgba(0,0,0,0.6)',
            borderRadius: 4,
            padding: '1px 6px',
          }}
        >
          {p.label}
        </Text>
      )}
    </Box>
  );

  return (
    <Box style={{ display: 'flex', flexDirection: 'column', height: '100%' }} data-testid="film-player">
      <Group gap="xs" p={6} wrap="wrap">
        <Select
          size="xs"
          aria-label="What to play"
          data={options}
          value={key}
          onChange={choose}
          allowDeselect={false}
          style={{ minWidth: 160, flex: 1, maxWidth: 320 }}
          data-testid="film-source"
        />
        <Checkbox
          size="xs"
          label="Beside the source"
          checked={beside}
          disabled={source.kind === 'source'}
          onChange={(e) => setBeside(e.currentTarget.checked)}
          data-testid="film-beside"
          style={{ whiteSpace: 'nowrap' }}
        />
        <Button
          size="compact-xs"
          variant="default"
          disabled={!media || source.kind !== 'source'}
          onClick={() => {
            const t = leader?.currentTime;
            if (t !== undefined) {
              film.setAtSec(t);
              film.setMode('frame');
            }
          }}
          data-testid="film-use-frame"
        >
          Use this frame
        </Button>
        <Text size="xs" c="dimmed" truncate style={{ minWidth: 0, flex: 1 }}>
          {source.kind === 'clip' ? film.clip?.label : (media?.note ?? '')}
        </Text>
      </Group>
      <Box
        style={{ flex: 1, minHeight: 0, position: 'relative', background: '#111', display: 'flex', gap: 4 }}
      >
        {comparing &&
          pane({
            playing: original.media,
            label: 'Source',
            testId: 'film-video-source',
            refTo: setFollower,
            controls: false,
            loop: false,
          })}
        {pane({
          playing: media,
          label:
            source.kind === 'clip'
              ? 'Range preview'
              : source.kind === 'render'
                ? `Render #${source.id}`
                : 'Source',
          testId: 'film-video',
          refTo: setLeader,
          controls: true,
          loop: source.kind === 'clip',
        })}
        {!media && (chosen.preparing || error) && (
          <Group justify="center" style={{ position: 'absolute', inset: 0 }} gap={8}>
            {error ? (
              <Alert color="red" m="md" data-testid="film-play-error">
                {error}
              </Alert>
            ) : (
              <>
                <Loader size="sm" color="white" />
                <Text c="white" size="sm">
                  preparing playback…
                </Text>
              </>
            )}
          </Group>
        )}
      </Box>
    </Box>
  );
}
