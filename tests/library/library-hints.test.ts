import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine';
import { LibraryService } from '../../src/library/service';
import { parseHintFile } from '../../src/shared/hints';
import { testCatalog } from '../helpers/library-helpers';
import { installColorizer } from '../helpers/models';
import { saveRaster } from '../helpers/images';

/**
 * Colour hints through the library (issue #17): a preview made from the shrunk display copy gets
 * the hints scaled to it, a render keeps them in its recipe (SQLite), shown in the history.
 */
const W = 1200;
const H = 800;

describe('library: colour hints', () => {
  let dir: string;
  let svc: LibraryService;
  let photo: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tintype-lib-hints-'));
    const models = join(dir, 'models');
    installColorizer(models, 'warm', {}, 'uv', [0, 0], [-0.05, 0.07]);
    const engine = new Engine({ modelDirs: [models] });
    svc = new LibraryService({
      dataDir: join(dir, 'data'),
      engineFactory: () => ({
        processFile: (job, onProgress, signal) => engine.processFile(job, onProgress, signal),
        close: async () => undefined,
      }),
      catalog: testCatalog,
      mode: 'server',
      version: 'test',
    });
    svc.start();
    // Left half dark, right half light.
    const data = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = x < W / 2 ? 60 : 180;
    photo = join(dir, 'two.png');
    await saveRaster(photo, { width: W, height: H, channels: 1, depth: 8, data });
  });
  afterAll(async () => {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const parsed = parseHintFile(
    JSON.stringify({
      hints: [
        {
          points: [
            [200, 400],
            [400, 420],
          ],
          radius: 20,
          color: '#2050e0',
        },
      ],
    }),
  );
  const hints = parsed.ok ? parsed.hints : [];

  /** Mean R − B of a region given in fractions of the picture. */
  async function warmth(path: string, fx0: number, fx1: number): Promise<number> {
    const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
    let s = 0;
    let n = 0;
    for (let y = Math.floor(info.height * 0.2); y < info.height * 0.8; y++)
      for (let x = Math.floor(info.width * fx0); x < info.width * fx1; x++) {
        const i = (y * info.width + x) * info.channels;
        s += data[i] - data[i + 2];
        n++;
      }
    return s / n;
  }

  it('previews with the hints scaled to the preview, renders them, and keeps them in the history', async () => {
    const p = svc.createProject({ name: 'hints' });
    const report = await svc.importAssets({ projectId: p.id, paths: [photo] });
    const asset = report.added[0];
    const base = { ops: ['colorize' as const], watermark: false };
    const plain = await svc.preview({
      assetId: asset.id,
      recipe: { ...base, options: { models: { colorize: 'warm' } } },
      maxEdge: 256,
    });
    const hinted = await svc.preview({
      assetId: asset.id,
      recipe: { ...base, options: { models: { colorize: 'warm' }, hints } },
      maxEdge: 256,
    });
    expect(hinted.media).not.toBe(plain.media);
    const plainPath = svc.resolveMedia(plain.media!)!.path;
    const hintedPath = svc.resolveMedia(hinted.media!)!.path;
    // The left (hinted, dark) half turned blue in the preview; the right half stayed warm.
    expect(await warmth(plainPath, 0.05, 0.45)).toBeGreaterThan(10);
    expect(await warmth(hintedPath, 0.05, 0.45)).toBeLessThan(-10);
    expect(
      Math.abs((await warmth(hintedPath, 0.55, 0.95)) - (await warmth(plainPath, 0.55, 0.95))),
    ).toBeLessThan(3);

    const recipe = { ...base, options: { models: { colorize: 'warm' }, hints } };
    await svc.startBatch({ target: { kind: 'assets', ids: [asset.id] }, recipe, skipDone: true });
    await svc.idle();
    const renders = svc.getAsset({ id: asset.id }).renders;
    expect(renders[0].status).toBe('done');
    expect(renders[0].recipe.options.hints).toEqual(hints);
    expect(await warmth(renders[0].outputPath!, 0.05, 0.45)).toBeLessThan(-10);
    // The same recipe again is already done; other hints are a new render.
    const again = await svc.startBatch({
      target: { kind: 'assets', ids: [asset.id] },
      recipe,
      skipDone: true,
    });
    expect(again).toMatchObject({ queued: 0, skipped: 1 });
    const moved = { ...recipe, options: { ...recipe.options, hints: [{ ...hints[0], strength: 0.5 }] } };
    const other = await svc.startBatch({
      target: { kind: 'assets', ids: [asset.id] },
      recipe: moved,
      skipDone: true,
    });
    expect(other.queued).toBe(1);
    await svc.idle();
  });
});
