import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, type Raster } from '../../src/engine';
import { resizeRaster } from '../../src/engine/image/resize';
import { mirror } from '../../src/engine/ops/tiled';
import { convGraph, installModel, RGB_01 } from '../helpers/models';
import { sepiaPattern, tempDir } from '../helpers/images';

/** The manifest's `tile.pad` (mirrored border context) and `scales` (×2 from a ×4 model). */
describe('upscale: mirrored border context and smaller scales', () => {
  const dir = tempDir();
  let engine: Engine;
  const graph = convGraph({ scale: 4, seed: 11 });
  beforeAll(() => {
    const up = { ...RGB_01, task: 'upscale' as const, scale: 4 };
    installModel(
      dir,
      { ...up, id: 'padded', scales: [2, 4], tile: { size: 24, overlap: 20, pad: 5 } },
      graph,
    );
    installModel(dir, { ...up, id: 'whole', tile: { size: 4096, overlap: 0 } }, graph);
    engine = new Engine({ modelDirs: [dir], ep: 'cpu', threads: 1 });
  });

  const mirrored = (r: Raster, p: number): Raster => {
    const W = r.width + 2 * p;
    const H = r.height + 2 * p;
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < 3; c++)
          data[(y * W + x) * 3 + c] =
            r.data[(mirror(y - p, r.height) * r.width + mirror(x - p, r.width)) * 3 + c];
    return { width: W, height: H, channels: 3, depth: 8, data };
  };

  it('tiles a mirrored image and crops it: equals one pass over the mirrored image', async () => {
    const img = sepiaPattern(37, 29);
    const tiled = await engine.processRaster(img, ['upscale'], { models: { upscale: 'padded' }, scale: 4 });
    expect([tiled.width, tiled.height]).toEqual([148, 116]);
    const big = await engine.processRaster(mirrored(img, 5), ['upscale'], { models: { upscale: 'whole' } });
    let worst = 0;
    for (let y = 0; y < 116; y++)
      for (let x = 0; x < 148; x++)
        for (let c = 0; c < 3; c++)
          worst = Math.max(
            worst,
            Math.abs(tiled.data[(y * 148 + x) * 3 + c] - big.data[((y + 20) * big.width + x + 20) * 3 + c]),
          );
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('offers ×2 from a ×4 model as its output downscaled with Lanczos, and refuses ×3', async () => {
    const img = sepiaPattern(21, 17);
    const x4 = await engine.processRaster(img, ['upscale'], { models: { upscale: 'padded' }, scale: 4 });
    const x2 = await engine.processRaster(img, ['upscale'], { models: { upscale: 'padded' }, scale: 2 });
    expect([x2.width, x2.height]).toEqual([42, 34]);
    expect(Buffer.from(x2.data).equals(Buffer.from((await resizeRaster(x4, 42, 34, 'lanczos3')).data))).toBe(
      true,
    );
    // Found by scale too: the only ×2-capable model here.
    expect((await engine.registry.resolve('upscale', { scale: 2 })).id).toBe('padded');
    await expect(
      engine.processRaster(img, ['upscale'], { models: { upscale: 'padded' }, scale: 3 }),
    ).rejects.toThrow(/upscales ×2 or ×4, not ×3/);
  });
});
