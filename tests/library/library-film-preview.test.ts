import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/log';
import type { Raster } from '../../src/engine/types';
import type { RenderEngine } from '../../src/library/engine';
import { LibraryLayout } from '../../src/library/layout';
import { FilmPreviews } from '../../src/library/playback';
import { LibraryService } from '../../src/library/service';
import { engineVideoRenderer } from '../../src/library/video';
import { haveFfmpeg, sharpProcessor, testCatalog } from '../helpers/library-helpers';
import { installColorizer } from '../helpers/models';
import { decodeAll, ffprobeJson, makeClip } from '../helpers/video-fixtures';

/**
 * Films in the item view, through the service: what a <video> is given to play (the source as it
 * is, or an H.264 copy of a source or a lossless master), the frame the scrubber picks as the base
 * of the live preview, and range previews through the recipe (superseded like photo previews).
 */

/** The models each still preview was asked to run (the recipe names none: what the service filled in). */
const previewModels: unknown[] = [];

/** Inverts every sample: a real, checkable per-frame operation standing in for the models. */
function invertingEngine(): RenderEngine {
  const base = sharpProcessor();
  return {
    ...base,
    processFile(job, ...rest) {
      previewModels.push(job.options?.models);
      return base.processFile(job, ...rest);
    },
    async processRaster(r: Raster): Promise<Raster> {
      const max = r.depth === 16 ? 65535 : 255;
      return { ...r, data: r.data.map((v) => max - v) as Raster['data'] };
    },
  };
}

const recipe = { ops: ['colorize' as const], options: {}, watermark: false };

if (!haveFfmpeg())
  console.warn('\n[film previews] SKIPPED: no ffmpeg found (npm-shipped, FFMPEG_PATH or PATH).\n');

describe.skipIf(!haveFfmpeg())('library: films in the item view', () => {
  let dir: string;
  let svc: LibraryService;
  let projectId: number;
  let mp4Id: number;
  let mkvId: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tintype-film-preview-'));
    const models = join(dir, 'models');
    installColorizer(models, 'warm', {}, 'rgb', [0, 0, 0], [0.8, 0.5, 0.3]);
    // Films have a colorizer of their own (as the bundled defaults give them the video colorizer).
    installColorizer(models, 'steady', {}, 'rgb', [0, 0, 0], [0.3, 0.5, 0.8]);
    writeFileSync(
      join(models, 'defaults.json'),
      JSON.stringify({ colorize: 'warm', film: { colorize: 'steady' } }),
    );
    mkdirSync(join(dir, 'src'));
    // testsrc2 draws a moving pattern and a frame counter: every frame differs from the others.
    await makeClip(join(dir, 'src', 'reel.mp4'), { size: '96x64', seconds: 2, audio: [440] });
    await makeClip(join(dir, 'src', 'master.mkv'), {
      size: '96x64',
      seconds: 2,
      video: ['-c:v', 'ffv1', '-pix_fmt', 'yuv444p'],
    });
    svc = new LibraryService({
      dataDir: join(dir, 'data'),
      engineFactory: () => invertingEngine(),
      catalog: testCatalog,
      video: engineVideoRenderer({ modelDirs: [models], log: silentLogger }),
      mode: 'server',
      version: 'test',
    });
    svc.start();
    projectId = svc.createProject({ name: 'film' }).id;
    const report = await svc.importAssets({ projectId, paths: [join(dir, 'src')] });
    expect(report.errors).toEqual([]);
    mp4Id = report.added.find((a) => a.name === 'reel.mp4')!.id;
    mkvId = report.added.find((a) => a.name === 'master.mkv')!.id;
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('plays an H.264 MP4 as it is and makes an H.264 copy of an FFV1 film', async () => {
    const direct = await svc.films.playable(mp4Id);
    expect(direct).toMatchObject({ media: `source/${mp4Id}`, copy: false });
    expect(svc.resolveMedia(direct.media)).toMatchObject({
      path: join(dir, 'src', 'reel.mp4'),
      contentType: 'video/mp4',
    });

    const copy = await svc.films.playable(mkvId);
    expect(copy.copy).toBe(true);
    expect(copy.media).toMatch(/^play\/a-\d+-[0-9a-f]+\.mp4$/);
    const file = svc.resolveMedia(copy.media)!;
    expect(file.contentType).toBe('video/mp4');
    const info = await ffprobeJson(file.path);
    const v = info.streams.find((s) => s.codec_type === 'video')!;
    expect([v.codec_name, v.pix_fmt, v.width, v.height]).toEqual(['h264', 'yuv420p', 96, 64]);
    expect(Number(info.format.duration)).toBeCloseTo(2, 1);
    // Asked again, the same copy is handed out (no second encode), and no temp file is left.
    expect((await svc.films.playable(mkvId)).media).toBe(copy.media);
    expect(readdirSync(svc.layout.playDir()).filter((n) => n.startsWith('.'))).toEqual([]);
    // The source key serves films only, and only for known assets.
    expect(svc.resolveMedia(`source/${mkvId}`)).toBeNull(); // .mkv: a browser is not given it
    expect(svc.resolveMedia('source/9999')).toBeNull();
    expect(svc.resolveMedia('play/../library.sqlite')).toBeNull();
  });

  it('takes the frame at the scrubbed time, and the live preview starts from it', async () => {
    const early = await svc.films.frame(mp4Id, 0.2);
    const late = await svc.films.frame(mp4Id, 1.6);
    expect(early.atSec).toBe(0.2);
    expect([early.width, early.height]).toEqual([96, 64]);
    const raw = async (p: string) => sharp(p).raw().toBuffer();
    const a = await raw(early.path);
    const b = await raw(late.path);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
    expect(diff / a.length).toBeGreaterThan(2);
    // Past the end is the last frame, not an error.
    expect((await svc.films.frame(mp4Id, 99)).atSec).toBeLessThan(2);

    const p1 = await svc.preview({ assetId: mp4Id, recipe, maxEdge: 64, atSec: 0.2 });
    const p2 = await svc.preview({ assetId: mp4Id, recipe, maxEdge: 64, atSec: 1.6 });
    expect(p1.superseded || p2.superseded).toBe(false);
    expect(p1.media).not.toBe(p2.media);
    // A film's still preview runs the model its render will: the films' default, not the photos'.
    expect(previewModels.slice(-2)).toEqual([{ colorize: 'steady' }, { colorize: 'steady' }]);
    const m1 = await sharp(svc.resolveMedia(p1.media!)!.path).stats();
    const m2 = await sharp(svc.resolveMedia(p2.media!)!.path).stats();
    expect(m1.channels.map((c) => Math.round(c.mean))).not.toEqual(
      m2.channels.map((c) => Math.round(c.mean)),
    );
    await expect(svc.films.frame(99999, 0)).rejects.toThrow(/no asset/);
  });

  it('renders a range preview through the recipe into a small MP4', async () => {
    const r = await svc.previewClip({ assetId: mp4Id, recipe, startSec: 0.4, durationSec: 1, maxEdge: 64 });
    expect(r.superseded).toBe(false);
    expect(r.media).toMatch(/^play\/c-.*\.mp4$/);
    expect([r.width, r.height]).toEqual([64, 42]);
    const file = svc.resolveMedia(r.media!)!.path;
    const info = await ffprobeJson(file);
    expect(info.streams.filter((s) => s.codec_type === 'video').map((s) => s.codec_name)).toEqual(['h264']);
    expect(Number(info.format.duration)).toBeGreaterThan(0.9);
    expect(Number(info.format.duration)).toBeLessThan(1.1);
    // The frames went through the processor: the clip is the negative of the source range.
    const src = await decodeAll(join(dir, 'src', 'reel.mp4'), 'gray', ['-vf', 'scale=64:42']);
    const out = await decodeAll(file, 'gray');
    const mean = (b: Buffer) => b.reduce((s, v) => s + v, 0) / b.length;
    expect(Math.abs(mean(out) - (255 - mean(src)))).toBeLessThan(15);
    // The same request again is the cached clip; no work folders are left behind.
    const again = await svc.previewClip({
      assetId: mp4Id,
      recipe,
      startSec: 0.4,
      durationSec: 1,
      maxEdge: 64,
    });
    expect(again.media).toBe(r.media);
    expect(readdirSync(svc.layout.playDir()).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('lets a newer range preview supersede one still computing', async () => {
    const first = svc.previewClip({ assetId: mkvId, recipe, startSec: 0, durationSec: 1, maxEdge: 64 });
    const second = svc.previewClip({ assetId: mkvId, recipe, startSec: 1, durationSec: 1, maxEdge: 64 });
    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ superseded: true, media: null });
    expect(b.superseded).toBe(false);
    expect(existsSync(svc.resolveMedia(b.media!)!.path)).toBe(true);
    expect(readdirSync(svc.layout.playDir()).filter((n) => n.startsWith('.'))).toEqual([]);

    // Cancel stops the one being made; with none, it says so.
    const third = svc.previewClip({ assetId: mkvId, recipe, startSec: 0.5, durationSec: 1, maxEdge: 64 });
    expect(svc.films.cancelClip()).toBe(true);
    expect(await third).toMatchObject({ superseded: true, media: null });
    expect(svc.films.cancelClip()).toBe(false);
    expect(readdirSync(svc.layout.playDir()).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('plays a finished render through an H.264 copy of its lossless master', async () => {
    await svc.startBatch({
      target: { kind: 'assets', ids: [mp4Id] },
      recipe,
      skipDone: true,
      colourInputs: 'colorize',
    }); // the fixture film is in colour
    await svc.idle();
    const render = svc.getAsset({ id: mp4Id }).renders[0];
    expect(render.status).toBe('done');
    const p = await svc.films.playable(mp4Id, render.id);
    expect(p).toMatchObject({ copy: true });
    expect(p.media).toMatch(new RegExp(`^play/r-${render.id}-[0-9a-z]+\\.mp4$`));
    const info = await ffprobeJson(svc.resolveMedia(p.media)!.path);
    expect(info.streams.find((s) => s.codec_type === 'video')!.codec_name).toBe('h264');
    await expect(svc.films.playable(mkvId, render.id)).rejects.toThrow(/is not of .*master\.mkv/);
  }, 60_000);

  it('keeps the play cache within its size and file limits, oldest first, never the newest', async () => {
    const layout = new LibraryLayout(join(dir, 'other-library'));
    const films = new FilmPreviews(svc.store, layout, async () => invertingEngine(), null, silentLogger, {
      bytes: 2500,
      files: 3,
    });
    mkdirSync(layout.playDir(), { recursive: true });
    const now = Date.now() / 1000;
    const names = ['a-1-x.mp4', 'a-2-x.mp4', 'c-3-x.mp4', 'r-4-x.mp4', 'r-5-x.mp4'];
    names.forEach((n, i) => {
      writeFileSync(join(layout.playDir(), n), Buffer.alloc(1000));
      utimesSync(join(layout.playDir(), n), now - 100 + i, now - 100 + i); // a-1 oldest
    });
    writeFileSync(join(layout.playDir(), '.clip-123'), 'work in progress');
    // r-5 was just made; 1000 + 1000 (r-4) fits in 2500, a third file would pass 2500.
    expect(await films.prune('r-5-x.mp4')).toBe(3);
    expect(readdirSync(layout.playDir()).sort()).toEqual(['.clip-123', 'r-4-x.mp4', 'r-5-x.mp4']);
  });
});
