import { Alert, Box, Button, Group, Loader, Select, Slider, Text } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useCallback, useEffect, useRef, useState } from 'react';
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
 * A film's state in the item view: the frame the scrubber chose (the base of the live preview and
 * the "before" image), whether the viewer shows frames or plays, and the last range preview.
 */
export function useFilm(asset: Asset | undefined) {
  const api = useApi();
  const isFilm = asset?.kind === 'video' && !asset.problem;
  const assetId = asset?.id ?? null;
  const [mode, setMode] = useState<FilmMode>('frame');
  /** null: the display frame chosen at import (a tenth of the way in). */
  const [atSec, setAtSec] = useState<number | null>(null);
  const [settledAt] = useDebouncedValue(atSec, 200);
  const [frame, setFrame] = useState<{ atSec: number; media: string } | null>(null);
  const [frameError, setFrameError] = useState<string | null>(null);
  const [clip, setClip] = useState<{ media: string; label: string } | null>(null);
  const [clipBusy, setClipBusy] = useState(false);
  const [clipError, setClipError] = useState<string | null>(null);
  const clipSeq = useRef(0);

  useEffect(() => {
    setMode('frame');
    setAtSec(null);
    setFrame(null);
    setClip(null);
    setClipError(null);
    setFrameError(null);
  }, [assetId]);

  useEffect(() => {
    if (!isFilm || assetId === null || settledAt === null) return;
    let stale = false;
    api.call('video.frame', { assetId, atSec: settledAt }).then(
      (f) => {
        if (stale) return;
        setFrame({ atSec: f.atSec, media: f.media });
        setFrameError(null);
      },
      (err: Error) => !stale && setFrameError(err.message),
    );
    return () => {
      stale = true;
    };
  }, [api, isFilm, assetId, settledAt]);

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

  return {
    isFilm,
    mode,
    setMode,
    /** The time asked for (moves with the scrubber) and the one whose frame is shown (settled). */
    atSec,
    settledAt,
    setAtSec,
    frame: isFilm ? frame : null,
    frameError,
    clip,
    clipBusy,
    clipError,
    previewRange,
    cancelRange,
  };
}

export type Film = ReturnType<typeof useFilm>;

/** The scrubber under the viewer: picks the frame for the live preview; previews a range from it. */
export function FilmBar(props: { film: Film; asset: Asset; recipe: Recipe }) {
  const { film, asset, recipe } = props;
  const duration = asset.durationSec ?? 0;
  const step = 1 / (asset.fps && asset.fps > 0 ? asset.fps : 25);
  const shown = film.atSec ?? film.frame?.atSec ?? null;
  return (
    <Box data-testid="film-bar">
      <Group gap="sm" wrap="nowrap" align="center">
        <Text size="xs" c="dimmed" style={{ whiteSpace: 'nowrap' }} id="film-scrubber-label">
          Frame for the preview
        </Text>
        <Slider
          style={{ flex: 1 }}
          min={0}
          max={Math.max(duration - step, step)}
          step={step}
          value={shown ?? 0}
          onChange={(v) => film.setAtSec(v)}
          label={(v) => formatTimecode(v)}
          disabled={duration <= 0}
          thumbProps={{ 'aria-labelledby': 'film-scrubber-label' }}
          data-testid="film-scrubber"
        />
        <Text size="xs" ff="monospace" style={{ whiteSpace: 'nowrap' }} data-testid="film-time">
          {shown === null ? 'display frame' : formatTimecode(shown)} / {formatTimecode(duration)}
        </Text>
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
      </Group>
      {(film.frameError || film.clipError) && (
        <Alert color="red" p="xs" mt={4} data-testid="film-error">
          <Text size="xs">{film.clipError ?? film.frameError}</Text>
        </Alert>
      )}
    </Box>
  );
}

type Source = { kind: 'source' } | { kind: 'render'; id: number } | { kind: 'clip' };
const sourceValue = (s: Source) => (s.kind === 'render' ? `render-${s.id}` : s.kind);

/**
 * Plays the source film, a finished render or the last range preview. Lossless masters and sources
 * in codecs a browser does not play are watched through a copy the backend makes (video.playable);
 * "Use this frame" hands the paused time to the scrubber.
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
  const [media, setMedia] = useState<{ key: string; note: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [preparing, setPreparing] = useState(false);
  const video = useRef<HTMLVideoElement | null>(null);
  const key = sourceValue(source);

  useEffect(() => {
    setError(null);
    if (source.kind === 'clip') {
      setMedia(clipMedia ? { key: clipMedia, note: null } : null);
      return;
    }
    let stale = false;
    setMedia(null);
    setPreparing(true);
    api
      .call('video.playable', {
        assetId: asset.id,
        ...(source.kind === 'render' ? { renderId: source.id } : {}),
      })
      .then(
        (p) =>
          !stale &&
          setMedia({
            key: p.media,
            note: p.copy ? 'a copy for playback (H.264, at most 1280 px)' : null,
          }),
        (err: Error) => !stale && setError(err.message),
      )
      .finally(() => !stale && setPreparing(false));
    return () => {
      stale = true;
    };
    // `key` names the source; the object itself is new on every choice.
  }, [api, asset.id, key, clipMedia]);

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

  return (
    <Box style={{ display: 'flex', flexDirection: 'column', height: '100%' }} data-testid="film-player">
      <Group gap="xs" p={6} wrap="nowrap">
        <Select
          size="xs"
          aria-label="What to play"
          data={options}
          value={key}
          onChange={choose}
          allowDeselect={false}
          style={{ minWidth: 0, flex: 1, maxWidth: 360 }}
          data-testid="film-source"
        />
        <Button
          size="compact-xs"
          variant="default"
          disabled={!media || source.kind !== 'source'}
          onClick={() => {
            const t = video.current?.currentTime;
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
      <Box style={{ flex: 1, minHeight: 0, position: 'relative', background: '#111' }}>
        {media && (
          <video
            ref={video}
            key={media.key}
            src={api.mediaUrl(media.key)}
            controls
            preload="metadata"
            loop={source.kind === 'clip'}
            style={{ width: '100%', height: '100%', objectFit: 'contain', display: 'block' }}
            data-testid="film-video"
            data-media={media.key}
          />
        )}
        {!media && (preparing || error) && (
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
