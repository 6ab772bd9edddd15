import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { probeMedia, resolveFfmpeg, tempPathFor, type Logger, type MediaInfo } from '../engine/index';
import type { Recipe } from '../shared/api';
import type { RenderEngine, VideoRenderer } from './engine';
import { cutScaled, extractFrame, makePlayable } from './ffmpeg';
import type { LibraryLayout } from './layout';
import { makeImageView, VIEW_EDGE } from './probe';
import { recipeHash } from './recipe';
import type { Store } from './store';

async function probe(path: string): Promise<MediaInfo> {
  return probeMedia((await resolveFfmpeg()).ffprobe, path);
}

/** Long side of the playable copies (enough for the viewer, quick to encode). */
const PLAY_EDGE = 1280;
/** The play folder's limits (playable copies and range previews, all remade on demand). */
const PLAY_CACHE_BYTES = 8 * 1024 ** 3;
const PLAY_CACHE_FILES = 200;
/** A range preview is at most this long: it is a look at the recipe in motion, not a render. */
export const MAX_CLIP_SECONDS = 10;

/** Films a browser plays as they are: MP4/WebM with these codecs, 8-bit 4:2:0. Others get a copy. */
const PLAYABLE_EXT = new Set(['.mp4', '.m4v', '.webm']);
const PLAYABLE_VIDEO = new Set(['h264', 'vp8', 'vp9', 'av1']);
const PLAYABLE_PIX = new Set(['yuv420p', 'yuvj420p']);
const PLAYABLE_AUDIO = new Set(['aac', 'mp3', 'opus', 'vorbis', 'flac']);

export interface Playable {
  media: string;
  /** True when it is a copy made for playback (the source's codec or a lossless master needs one). */
  copy: boolean;
  durationSec: number | null;
}

type Clip =
  { media: string; width: number; height: number; frames: number; superseded: false } | { superseded: true };

/**
 * Films in the item view: a playable source and result for the <video> element, the frame at a
 * chosen time for the live preview, and range previews (a few seconds through the recipe). Copies
 * and clips live in the library's cache folder, written to a temp name and renamed when complete,
 * so the media route never serves half a file.
 */
export class FilmPreviews {
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /** The range preview being made: a newer, different one stops it (like live photo previews). */
  private live: { name: string; abort: AbortController } | null = null;

  constructor(
    private readonly store: Store,
    private readonly layout: LibraryLayout,
    private readonly engine: () => Promise<RenderEngine>,
    private readonly video: VideoRenderer | null,
    private readonly log: Logger,
    /** Cache limits: total size and number of files in the play folder. */
    private readonly limits = { bytes: PLAY_CACHE_BYTES, files: PLAY_CACHE_FILES },
  ) {}

  private film(assetId: number) {
    const a = this.store.assetRow(assetId);
    const name = a.source_path ?? a.path;
    if (a.kind !== 'video') throw new Error(`${name}: not a film (${a.kind})`);
    if (a.problem) throw new Error(`${name}: cannot be played: ${a.problem}`);
    return { row: a, path: this.layout.abs(a.path), name };
  }

  /** One promise per file being made: a second request for it waits for the first. */
  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.inFlight.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  }

  /** The source film (as it is when a browser can play it) or a render's master, for <video>. */
  async playable(assetId: number, renderId?: number): Promise<Playable> {
    const film = this.film(assetId);
    if (renderId !== undefined) {
      const r = this.store.renderRow(renderId);
      if (r.asset_id !== assetId) throw new Error(`render ${renderId} is not of ${film.name}`);
      const master = this.layout.abs(r.output_path);
      if (r.status !== 'done' || !master || !existsSync(master))
        throw new Error(`render ${renderId} of ${film.name} has no finished film`);
      // Named with the render's time too: an id freed by a deletion never shows an old copy.
      const media = await this.copyFor(master, `r-${renderId}-${r.created_at.toString(36)}.mp4`);
      return { media, copy: true, durationSec: film.row.duration_sec };
    }
    if (await this.browserPlays(film.path))
      return { media: `source/${assetId}`, copy: false, durationSec: film.row.duration_sec };
    // The copy is named by content, so a re-imported or changed file never shows an old copy.
    const media = await this.copyFor(film.path, `a-${assetId}-${film.row.hash.slice(0, 12)}.mp4`);
    return { media, copy: true, durationSec: film.row.duration_sec };
  }

  private async browserPlays(path: string): Promise<boolean> {
    if (!PLAYABLE_EXT.has(extname(path).toLowerCase())) return false;
    try {
      const info = await probe(path);
      const v = info.video;
      return (
        !!v &&
        PLAYABLE_VIDEO.has(v.codec) &&
        PLAYABLE_PIX.has(v.pixFmt) &&
        info.audio.every((a) => PLAYABLE_AUDIO.has(a.codec))
      );
    } catch {
      return false;
    }
  }

  private copyFor(src: string, name: string): Promise<string> {
    const out = join(this.layout.playDir(), name);
    return this.once(out, async () => {
      if (!existsSync(out)) {
        await mkdir(this.layout.playDir(), { recursive: true });
        const tmp = tempPathFor(out, '.mp4');
        const t0 = Date.now();
        try {
          await makePlayable(src, tmp, PLAY_EDGE);
          await rename(tmp, out);
        } finally {
          await rm(tmp, { force: true });
        }
        this.log.info(`playable copy of ${src} made in ${Date.now() - t0} ms`);
        void this.prune(name);
      }
      return `play/${name}`;
    });
  }

  /**
   * A stack's frame `page` (0-based) as a display-size JPEG, stretched like its display copy: the
   * stack scrubber's "before" and the base of its live preview, as `frame` is for a film.
   */
  async stackFrame(
    assetId: number,
    page: number,
  ): Promise<{ media: string; path: string; width: number; height: number; page: number }> {
    const a = this.store.assetRow(assetId);
    const name = a.source_path ?? a.path;
    if (a.kind !== 'stack') throw new Error(`${name}: not an image stack (${a.kind})`);
    if (a.problem) throw new Error(`${name}: cannot be read: ${a.problem}`);
    const pages = a.pages ?? 1;
    if (!Number.isInteger(page) || page < 0 || page >= pages)
      throw new Error(`${name}: has frames 1 to ${pages}, not ${page + 1}`);
    const file = `p-s${assetId}-${a.hash.slice(0, 8)}-n${page}.jpg`;
    const out = join(this.layout.previewDir(), file);
    await this.once(out, async () => {
      if (existsSync(out)) return;
      await makeImageView(this.layout.abs(a.path), { depth: a.depth }, out, page);
    });
    const meta = await sharp(out).metadata();
    return { media: `preview/${file}`, path: out, width: meta.width ?? 0, height: meta.height ?? 0, page };
  }

  /** The frame at `atSec` (clamped into the film) as a display-size JPEG; the scrubber's "before". */
  async frame(
    assetId: number,
    atSec: number,
  ): Promise<{ media: string; path: string; width: number; height: number; atSec: number }> {
    const film = this.film(assetId);
    const duration = film.row.duration_sec;
    // The last frame starts a frame before the end; asking past it would give no frame at all.
    const lastFrame = duration ? Math.max(0, duration - 1 / (film.row.fps ?? 25)) : 0;
    const t = Math.round(Math.min(Math.max(0, atSec), lastFrame) * 1000) / 1000;
    const name = `p-f${assetId}-${film.row.hash.slice(0, 8)}-t${Math.round(t * 1000)}.jpg`;
    const out = join(this.layout.previewDir(), name);
    await this.once(out, async () => {
      if (existsSync(out)) return;
      await mkdir(this.layout.previewDir(), { recursive: true });
      const tmp = tempPathFor(out, '.jpg');
      try {
        await extractFrame(film.path, t, tmp, VIEW_EDGE);
        if (!existsSync(tmp)) throw new Error(`${film.name}: no frame at ${t.toFixed(3)} s`);
        await rename(tmp, out);
      } finally {
        await rm(tmp, { force: true });
      }
    });
    const meta = await sharp(out).metadata();
    return {
      media: `preview/${name}`,
      path: out,
      width: meta.width ?? 0,
      height: meta.height ?? 0,
      atSec: t,
    };
  }

  /**
   * Keeps the cache folder within its limits, oldest first; never the file just made. Copies of
   * long films are large and all of them can be made again, so a full cache is not worth keeping.
   */
  async prune(keep: string): Promise<number> {
    const dir = this.layout.playDir();
    const files = (
      await Promise.all(
        (await readdir(dir).catch(() => [] as string[]))
          .filter((n) => !n.startsWith('.') && n !== keep)
          .map(async (n) => {
            const st = await stat(join(dir, n)).catch(() => null);
            return st?.isFile() ? { n, size: st.size, t: st.mtimeMs } : null;
          }),
      )
    ).filter((f): f is { n: string; size: number; t: number } => f !== null);
    files.sort((a, b) => b.t - a.t);
    let bytes = existsSync(join(dir, keep)) ? (await stat(join(dir, keep))).size : 0;
    let removed = 0;
    for (const [i, f] of files.entries()) {
      bytes += f.size;
      if (bytes <= this.limits.bytes && i + 1 < this.limits.files) continue;
      // A file being played stays readable on POSIX; on Windows it may refuse: try again next time.
      await rm(join(dir, f.n), { force: true }).then(
        () => removed++,
        () => {},
      );
    }
    return removed;
  }

  /** Stops the range preview being made (it answers `superseded`); false when none was. */
  cancelClip(): boolean {
    if (!this.live) return false;
    this.live.abort.abort();
    return true;
  }

  /**
   * `durationSec` from `startSec` through the recipe at `maxEdge`, as an MP4 to play. A newer range
   * preview of something else stops this one (it answers `superseded`); the same one is shared.
   */
  async clip(
    assetId: number,
    recipe: Recipe,
    startSec: number,
    durationSec: number,
    maxEdge: number,
  ): Promise<Clip> {
    const film = this.film(assetId);
    const renderClip = this.video?.renderClip?.bind(this.video);
    if (!renderClip) throw new Error(`${film.name}: range previews need the video pipeline (ffmpeg)`);
    const total = film.row.duration_sec;
    const start = Math.max(0, total ? Math.min(startSec, Math.max(0, total - 0.1)) : startSec);
    const length = Math.min(durationSec, MAX_CLIP_SECONDS, total ? total - start : durationSec);
    const ms = (s: number) => Math.round(s * 1000);
    const name = `c-${assetId}-${ms(start)}-${ms(length)}-${maxEdge}-${recipeHash(recipe)}-${film.row.hash.slice(0, 8)}.mp4`;
    const out = join(this.layout.playDir(), name);
    if (this.live && this.live.name !== name) this.live.abort.abort();
    if (this.live?.name !== name) this.live = { name, abort: new AbortController() };
    const abort = this.live.abort;
    try {
      return await this.once(out, async (): Promise<Clip> => {
        if (!existsSync(out)) {
          await mkdir(this.layout.playDir(), { recursive: true });
          // A private folder: the cut, the render and the pipeline's work folder all go with it.
          const work = await mkdtemp(join(this.layout.playDir(), '.clip-'));
          const cut = join(work, 'cut.mkv');
          const tmp = join(work, 'clip.mp4');
          try {
            await cutScaled(film.path, start, length, maxEdge, cut, abort.signal);
            const engine = await this.engine();
            if (abort.signal.aborted) return { superseded: true };
            await renderClip(
              { input: cut, output: tmp, ops: recipe.ops, options: recipe.options, signal: abort.signal },
              engine,
            );
            await rename(tmp, out);
            void this.prune(name);
          } catch (err) {
            if (abort.signal.aborted) return { superseded: true };
            throw err;
          } finally {
            await rm(work, { recursive: true, force: true });
          }
        }
        const info = await probe(out);
        return {
          media: `play/${name}`,
          width: info.video?.width ?? 0,
          height: info.video?.height ?? 0,
          frames: info.video?.frameCount ?? 0,
          superseded: false,
        };
      });
    } finally {
      if (this.live?.name === name) this.live = null;
    }
  }
}
