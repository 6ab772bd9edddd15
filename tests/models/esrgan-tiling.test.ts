import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Engine, type Raster } from '../../src/engine';
import { SHIPPED } from '../../tools/convert-esrgan/catalog';
import { DEFAULT_OUT } from '../../tools/convert-esrgan/index';
import { loadManifest } from '../../src/engine/models/manifest-io';
import { runTiled } from '../../src/engine/ops/tiled';

/**
 * The shipped manifests' tile settings through the engine's tiler: an image larger than one tile
 * comes out as a whole-image run of the same model would make it (no seams), give or take one
 * 8-bit level of rounding.
 */

/** Photo-like test card: smooth shading, hard-edged shapes, a fine stripe pattern, mild grain. */
function card(width: number, height: number): Raster {
  const data = new Uint8Array(width * height * 3);
  let s = 12345;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
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
  for (let i = 0; i < hw; i++)
    for (let c = 0; c < 3; c++) x[c * hw + i] = lo + (r.data[i * 3 + c] / 255) * (hi - lo);
  const session = await ort.InferenceSession.create(m.modelPath, { intraOpNumThreads: 2 });
  const y = (await session.run({ input: new ort.Tensor('float32', x, [1, 3, r.height, r.width]) })).output;
  await session.release();
  const ohw = y.dims[2] * y.dims[3];
  const out = new Uint8Array(ohw * 3);
  const d = y.data as Float32Array;
  for (let i = 0; i < ohw; i++)
    for (let c = 0; c < 3; c++)
      out[i * 3 + c] = Math.min(255, Math.max(0, Math.round(((d[c * ohw + i] - lo) / (hi - lo)) * 255)));
  return out;
}

const engine = new Engine({ modelDirs: [DEFAULT_OUT], ep: 'cpu', threads: 2 });

function maxDiff(a: Uint8Array | Uint16Array, b: Uint8Array | Uint16Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// The thick models take ~15 s each on two idle cores and over 120 s when the machine is loaded.
describe.each(SHIPPED)('%s', { timeout: 600_000 }, (id) => {
  it("has an overlap that makes the engine's tiles seamless", async () => {
    const manifest = await engine.registry.get(id);
    const model = await engine.sessions.get(manifest);
    const overlap = manifest.tile!.overlap;
    // Seams depend on the overlap, not on the tile size: small tiles keep thick's run short while
    // giving three tiles per axis, so tiles meet inside the image both ways.
    const tileSize = 2 * overlap + 16;
    const img = card(2 * tileSize - overlap + 10, 2 * tileSize - overlap - 4);
    const tiled = await runTiled(img, model, { tileSize });
    expect([tiled.width, tiled.height]).toEqual([img.width * manifest.scale, img.height * manifest.scale]);
    expect(maxDiff(tiled.data, await wholeImage(id, img))).toBeLessThanOrEqual(1);
  });
});

it('upscales through the engine with the manifest tile size', async () => {
  const id = 'esrgan-slim-x4';
  const m = await loadManifest(join(DEFAULT_OUT, id, 'manifest.json'));
  const img = card(m.tile!.size + 40, m.tile!.size + 24);
  const out = await engine.processRaster(img, ['upscale'], { models: { upscale: id }, scale: 4 });
  expect(maxDiff(out.data, await wholeImage(id, img))).toBeLessThanOrEqual(1);
});
