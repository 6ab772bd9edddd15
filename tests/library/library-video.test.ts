import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/log';
import type { Raster } from '../../src/engine/types';
import type { RenderEngine } from '../../src/library/engine';
import { LibraryService } from '../../src/library/service';
import { engineVideoRenderer } from '../../src/library/video';
import { installColorizer } from '../helpers/models';
import { ffmpegBins } from '../helpers/ffmpeg';
import { sharpProcessor, testCatalog, writeStack16, writeVideo } from '../helpers/library-helpers';

/** Inverts every sample: a real, checkable per-frame operation (test stand-in for the model work). */
function invertingEngine(): RenderEngine {
  return {
    ...sharpProcessor(),
    async processRaster(r: Raster): Promise<Raster> {
      const max = r.depth === 16 ? 65535 : 255;
      const data = r.data.map((v) => max - v) as Raster['data'];
      return { ...r, data };
    },
  };
}

const frames = (file: string) =>
  Number(
    execFileSync(ffmpegBins().ffprobe, [
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=nb_read_frames',
      '-of',
      'csv=p=0',
      file,
    ])
      .toString()
      .trim(),
  );

describe('library: films and stacks through the video pipeline', () => {
  let dir: string;
  let svc: LibraryService;
  let projectId: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tintype-video-'));
    const models = join(dir, 'models');
    installColorizer(models, 'warm', {}, 'rgb', [0, 0, 0], [0.8, 0.5, 0.3]);
    mkdirSync(join(dir, 'src'));
    writeVideo(join(dir, 'src', 'reel.mp4'));
    writeStack16(join(dir, 'src', 'cells.tif'), 24, 20, 3);
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
    await svc.importAssets({ projectId, paths: [join(dir, 'src')] });
    await svc.startBatch({
      target: { kind: 'project', projectId },
      recipe: { ops: ['colorize'], options: {}, watermark: false },
      skipDone: true,
      colourInputs: 'colorize', // the fixtures include colour pictures
    });
    await svc.idle();
  });
  afterAll(async () => {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders a film into a lossless master with every frame, and shows a frame of it', async () => {
    const film = svc.listAssets({ projectId, kind: 'video' })[0];
    expect(film.status).toBe('rendered');
    const r = film.latestRender!;
    expect(r).toMatchObject({ models: ['warm'], width: 64, height: 48 });
    expect(r.outputPath!.endsWith('.mkv')).toBe(true);
    expect(frames(r.outputPath!)).toBe(5);
    const view = svc.resolveMedia(r.view!)!;
    const before = (await sharp(svc.resolveMedia(film.view!)!.path).stats()).channels[0].mean;
    const after = (await sharp(view.path).stats()).channels[0].mean;
    expect(Math.abs(after - (255 - before))).toBeLessThan(12); // the frames really went through the processor
    expect(svc.resolveMedia(r.thumb!)!.path).not.toBe(view.path);
  });

  it('renders a 16-bit stack into a 16-bit multi-page TIFF, exactly', async () => {
    const stack = svc.listAssets({ projectId, kind: 'stack' })[0];
    const r = stack.latestRender!;
    const meta = await sharp(r.outputPath!).metadata();
    expect([meta.pages, meta.depth, meta.width, meta.height]).toEqual([3, 'ushort', 24, 20]);
    const page = async (file: string, n: number) =>
      new Uint16Array(
        (
          await sharp(file, { page: n }).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer()
        ).buffer.slice(0),
      );
    const src = await page(stack.path, 1);
    const out = await page(r.outputPath!, 1);
    expect(out[0]).toBe(65535 - src[0]);
    expect(out[100]).toBe(65535 - src[100]);
  });

  it('exports films as mp4 and stacks as TIFF or frames; refuses formats that do not fit', async () => {
    const film = svc.listAssets({ projectId, kind: 'video' })[0].latestRender!;
    const stack = svc.listAssets({ projectId, kind: 'stack' })[0].latestRender!;
    const folder = join(dir, 'out');
    const mp4 = await svc.exportRenders({ renderIds: [film.id], folder, format: 'mp4', overwrite: false });
    expect(mp4.errors).toEqual([]);
    expect(mp4.files[0].path).toBe(join(folder, 'reel-tintype.mp4'));
    expect(frames(mp4.files[0].path)).toBe(5);
    const tif = await svc.exportRenders({ renderIds: [stack.id], folder, format: 'tif', overwrite: false });
    expect((await sharp(tif.files[0].path).metadata()).pages).toBe(3);
    const seq = await svc.exportRenders({
      renderIds: [stack.id],
      folder,
      format: 'frames',
      overwrite: false,
    });
    expect(seq.errors).toEqual([]);
    expect(readdirSync(seq.files[0].path).filter((f) => f.endsWith('.tif')).length).toBe(3);
    const bad = await svc.exportRenders({
      renderIds: [film.id, stack.id],
      folder,
      format: 'jpg',
      overwrite: false,
    });
    expect(bad.errors.map((e) => e.error)).toEqual([
      'reel.mp4 is a film: export it as mp4, mkv, mov or an image sequence',
      'cells.tif is a stack: export it as a multi-page TIFF (tif) or as an image sequence',
    ]);
    expect(existsSync(join(folder, 'reel-tintype.jpg'))).toBe(false);
  });
});
