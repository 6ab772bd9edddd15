import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED, modelJsonPath, specById } from '../../tools/convert-esrgan/catalog';
import { loadOriginal, runOriginal, useCpuBackend } from '../../tools/convert-esrgan/tfjs-reference';
import { DEFAULT_OUT } from '../../tools/convert-esrgan/index';

/**
 * Each shipped ONNX model against the original TF.js model (pure JS CPU backend) on the same small
 * generated images: the outputs must agree within half a grey level on the 0..255 scale.
 */

/** A deterministic test card in 0..1: gradients, a hard edge, a thin line and some texture. */
function testCard(width: number, height: number, seed: number): Float32Array {
  const out = new Float32Array(width * height * 3);
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const edge = x > width * 0.6 ? 0.35 : 0;
      const line = y === Math.floor(height / 3) ? 0.4 : 0;
      for (let c = 0; c < 3; c++) {
        const v =
          0.15 + (0.5 * x) / width + (0.2 * y * (c + 1)) / (3 * height) + edge - line + 0.08 * (rand() - 0.5);
        out[(y * width + x) * 3 + c] = Math.min(1, Math.max(0, v));
      }
    }
  return out;
}

function toNchw(nhwc: Float32Array, h: number, w: number, scale: number): Float32Array {
  const out = new Float32Array(nhwc.length);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) out[c * h * w + p] = nhwc[p * 3 + c] * scale;
  return out;
}

beforeAll(async () => {
  await useCpuBackend();
});

describe.each(SHIPPED)('%s', (id) => {
  const spec = specById(id);
  const [lo, hi] = spec.range;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    session = await ort.InferenceSession.create(join(DEFAULT_OUT, id, 'model.onnx'), {
      intraOpNumThreads: 1,
    });
  });
  afterAll(async () => {
    await session?.release();
  });

  it('matches the TF.js original within 0.5 on the 0..255 scale', async () => {
    const original = await loadOriginal(modelJsonPath(spec));
    // TF.js runs thick's 154 convolutions slowly on CPU: a smaller card and one seed there.
    const [W, H] = spec.variant === 'thick' ? [16, 12] : [24, 20];
    try {
      for (const seed of spec.variant === 'thick' ? [1] : [1, 2]) {
        const card = testCard(W, H, seed);
        const nhwc = card.map((v) => lo + v * (hi - lo));
        const ref = await runOriginal(original, nhwc, H, W);
        expect(ref.shape).toEqual([1, H * spec.scale, W * spec.scale, 3]);

        const res = await session.run({
          input: new ort.Tensor('float32', toNchw(card, H, W, hi - lo), [1, 3, H, W]),
        });
        const out = res.output;
        expect(out.dims).toEqual([1, 3, H * spec.scale, W * spec.scale]);
        const data = out.data as Float32Array;
        const ohw = H * spec.scale * W * spec.scale;
        let maxDiff = 0;
        let meanLevel = 0;
        for (let p = 0; p < ohw; p++)
          for (let c = 0; c < 3; c++) {
            const a = ref.data[p * 3 + c];
            maxDiff = Math.max(maxDiff, Math.abs(a - data[c * ohw + p]));
            meanLevel += a / (3 * ohw);
          }
        const to255 = 255 / (hi - lo);
        expect(maxDiff * to255).toBeLessThanOrEqual(0.5);
        // The reference itself must be an image of the card, not a degenerate output both agree on.
        const cardMean = card.reduce((a, b) => a + b, 0) / card.length;
        expect(Math.abs((meanLevel - lo) / (hi - lo) - cardMean)).toBeLessThan(0.05);
      }
    } finally {
      original.dispose();
    }
  });
});
