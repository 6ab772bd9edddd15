import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Engine, type Raster } from '../src/engine';
import { SHIPPED } from '../tools/convert-esrgan/catalog';
import { DEFAULT_OUT } from '../tools/convert-esrgan/index';
import { loadManifest } from '../src/engine/models/manifest-io';

/**
 * The shipped manifests' tile settings through the engine's tiler: an image larger than one tile
 * comes out as a whole-image run of the same model would make it (no seams), give or take one
 * 8-bit level of rounding.
 */

/** Photo-like test card: smooth shading, hard-edged shapes, a fine stripe pattern, mild grain. */
function card(width: number, height: number): Raster {
  const data = new Uint8Array(width * height * 3);
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const disc = (x - width * 0.4) ** 2 + (y - height * 0.5) ** 2 < (height * 0.3) ** 2;
      const stripes = x > width * 0.7 && Math.floor(y / 3) % 2 === 0;
      for (let c = 0; c < 3; c++) {
        let v = 40 + (120 * x) / width + (60 * y * (3 - c)) / (3 * height);
        if (disc) v = 200 - 50 * c + 20 * Math.sin(x / 5);
        if (stripes) v = 30 + 20 * c;
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v + 6 * (rand() - 0.5))));
      }
    }
  return { width, height, channels: 3, depth: 8, data };
}

async function wholeImage(id: string, r: Raster): Promise<Uint8Array> {
  const m = await loadManifest(join(DEFAULT_OUT, id, 'manifest.json'));
  const [lo, hi] = m.input.range;
  const hw = r.width * r.height;
  const x = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++) for (let c = 0; c < 3; c++) x[c * hw + i] = lo + (r.data[i * 3 + c] / 255) * (hi - lo);
  const session = await ort.InferenceSession.create(m.modelPath, { intraOpNumThreads: 2 });
  const y = (await session.run({ input: new ort.Tensor('float32', x, [1, 3, r.height, r.width]) })).output;
  await session.release();
  const ohw = y.dims[2] * y.dims[3];
  const out = new Uint8Array(ohw * 3);
  const d = y.data as Float32Array;
  for (let i = 0; i < ohw; i++)
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.min(255, Math.max(0, Math.round(((d[c * ohw + i] - lo) / (hi - lo)) * 255)));
  return out;
}

const engine = new Engine({ modelDirs: [DEFAULT_OUT], ep: 'cpu', threads: 2 });

describe.each(SHIPPED)('%s', (id) => {
  it('tiles seamlessly with its manifest settings', async () => {
    const m = await loadManifest(join(DEFAULT_OUT, id, 'manifest.json'));
    // Larger than one tile in both directions, so tiles meet inside the image on both axes.
    const img = card(m.tile!.size + 40, m.tile!.size + 24);
    const tiled = await engine.processRaster(img, ['upscale'], { models: { upscale: id }, scale: m.scale });
    expect(tiled.width).toBe(img.width * m.scale);
    expect(tiled.height).toBe(img.height * m.scale);
    const whole = await wholeImage(id, img);
    let maxDiff = 0;
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i] - tiled.data[i]));
    expect(maxDiff).toBeLessThanOrEqual(1);
  });
});
