import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine';
import { LibraryService } from '../../src/library/service';
import type { MaskStroke } from '../../src/shared/repair';
import { saveRaster } from '../helpers/images';
import { testCatalog } from '../helpers/library-helpers';
import { cleanPicture, damage } from '../helpers/repair';

/**
 * The repair mask through the library (the app's mask editor): a preview with repair answers the
 * mask it used, at the preview's size, with the user's strokes (in the picture's pixels) scaled to
 * it; a render keeps the strokes in its recipe. No detector is installed: the strokes are the mask.
 */
const BUNDLED = join(import.meta.dirname, '..', '..', 'resources', 'models');
const W = 1200;
const H = 800;

describe('library: repair mask edits', () => {
  let dir: string;
  let svc: LibraryService;
  let photo: string;
  const scratch = new Uint8Array(W * H);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tintype-lib-repair-'));
    const engine = new Engine({ modelDirs: [BUNDLED], ep: 'cpu', threads: 1 });
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
    // A white scratch across the middle, 12 px thick.
    for (let y = 394; y < 406; y++) for (let x = 100; x < 1100; x++) scratch[y * W + x] = 255;
    photo = join(dir, 'scratched.png');
    await saveRaster(photo, damage(cleanPicture(W, H), scratch));
  });
  afterAll(async () => {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('previews the mask the strokes make, scaled to the preview, and renders with them', async () => {
    const p = svc.createProject({ name: 'repair' });
    const asset = (await svc.importAssets({ projectId: p.id, paths: [photo] })).added[0];
    const maskEdits: MaskStroke[] = [
      {
        points: [
          [100, 400],
          [1100, 400],
        ],
        radius: 10,
      },
      { points: [[900, 400]], radius: 60, erase: true },
    ];
    const recipe = { ops: ['repair' as const], options: { maskEdits }, watermark: false };
    const prev = await svc.preview({ assetId: asset.id, recipe, maxEdge: 300 });
    expect(prev.mask).toBeDefined();
    // The overlay: red, its alpha the mask.
    const mask = await sharp(svc.resolveMedia(prev.mask!)!.path)
      .extractChannel(3)
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([mask.info.width, mask.info.height]).toEqual([300, 200]);
    // Scaled by 1/4: the stroke is at row 100, the eraser around x = 225, nothing far from the stroke.
    const at = (x: number, y: number) => mask.data[y * 300 + x];
    expect([at(100, 100), at(225, 100), at(100, 50)]).toEqual([255, 0, 0]);

    await svc.startBatch({ target: { kind: 'assets', ids: [asset.id] }, recipe, skipDone: true });
    await svc.idle();
    const render = svc.getAsset({ id: asset.id }).renders[0];
    expect(render.status).toBe('done');
    expect(render.recipe.options.maskEdits).toEqual(maskEdits);
    const out = await sharp(render.outputPath!).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => out.data[(y * W + x) * out.info.channels];
    // Filled where stroked (no longer white), kept where erased (still the white scratch).
    expect(px(400, 400)).toBeLessThan(230);
    expect(px(900, 400)).toBe(255);
  });
});
