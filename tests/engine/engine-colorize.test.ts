import { describe, expect, it, beforeAll } from 'vitest';
import { Engine } from '../../src/engine';
import { installColorizer } from '../helpers/models';
import { greyPattern, luma601, sepiaPattern, tempDir } from '../helpers/images';
import type { Raster } from '../../src/engine/types';

const KR = 0.299,
  KG = 0.587,
  KB = 0.114;

function maxLumaError(input: Raster, output: Raster): number {
  let worst = 0;
  const n = input.width * input.height;
  for (let i = 0; i < n; i++) {
    const yi =
      input.channels === 1
        ? input.data[i]
        : luma601(input.data[i * 3], input.data[i * 3 + 1], input.data[i * 3 + 2]);
    const yo = luma601(output.data[i * 3], output.data[i * 3 + 1], output.data[i * 3 + 2]);
    worst = Math.max(worst, Math.abs(yi - yo));
  }
  return worst;
}

/** Mean U and V (BT.601 analog) of an 8-bit RGB raster, on the 0..1 scale. */
function meanChroma(r: Raster): { u: number; v: number } {
  let u = 0,
    v = 0;
  const n = r.width * r.height;
  for (let i = 0; i < n; i++) {
    const R = r.data[i * 3] / 255,
      G = r.data[i * 3 + 1] / 255,
      B = r.data[i * 3 + 2] / 255;
    const y = KR * R + KG * G + KB * B;
    u += 0.492 * (B - y);
    v += 0.877 * (R - y);
  }
  return { u: u / n, v: v / n };
}

describe('colorize (DeOldify method)', () => {
  const dir = tempDir();
  // A constant warm colour: R=0.8 G=0.5 B=0.3 whatever the grey level (a = 0).
  const warm = [0.8, 0.5, 0.3];
  const warmU = 0.492 * (0.3 - (KR * 0.8 + KG * 0.5 + KB * 0.3));
  const warmV = 0.877 * (0.8 - (KR * 0.8 + KG * 0.5 + KB * 0.3));
  let engine: Engine;

  beforeAll(() => {
    installColorizer(dir, 'warm-rgb', {}, 'rgb', [0, 0, 0], warm);
    installColorizer(dir, 'warm-255', { range: [0, 255], outputRange: [0, 255] }, 'rgb', [0, 0, 0], warm);
    // Lab a,b of a clearly red-ish and a blue-ish colour
    installColorizer(dir, 'ab-red', {}, 'ab', [0, 0], [40, 20]);
    installColorizer(dir, 'uv-blue', {}, 'uv', [0, 0], [0.15, -0.1]);
    // Chroma that depends on the grey level: tells whether the input convention was honoured.
    installColorizer(dir, 'probe-01', { range: [0, 1] }, 'uv', [0.3, 0], [-0.15, 0]);
    installColorizer(
      dir,
      'probe-255-norm',
      { range: [0, 255], normalization: { mean: [120, 110, 100], std: [50, 60, 70] } },
      'uv',
      [0.3, 0],
      [-0.15, 0],
    );
    installColorizer(dir, 'probe-nhwc', { layout: 'NHWC', range: [-1, 1] }, 'uv', [0.3, 0], [-0.15, 0]);
    installColorizer(dir, 'probe-grey1', { channels: 1 }, 'uv', [0.3, 0], [-0.15, 0]);
    installColorizer(dir, 'probe-frames3', { channels: 1, frames: 3 }, 'uv', [0.3, 0], [-0.15, 0]);
    installColorizer(dir, 'probe-fixed', { size: { kind: 'fixed', value: 48 } }, 'uv', [0.3, 0], [-0.15, 0], {
      default: 48,
      min: 48,
      max: 48,
    });
    installColorizer(
      dir,
      'probe-mult8',
      { size: { kind: 'dynamic', multiple: 8 } },
      'uv',
      [0.3, 0],
      [-0.15, 0],
    );
    engine = new Engine({ modelDirs: [dir] });
  });

  it('keeps the original luminance at full resolution (8-bit, max error ≤ 1 level)', async () => {
    const input = sepiaPattern(173, 91);
    const out = await engine.processRaster(input, ['colorize'], { models: { colorize: 'warm-rgb' } });
    expect(out.width).toBe(173);
    expect(out.height).toBe(91);
    expect(out.channels).toBe(3);
    expect(maxLumaError(input, out)).toBeLessThanOrEqual(1);
  });

  it('takes the chroma from the model: a model that predicts a known colour gives that colour', async () => {
    const input = greyPattern(120, 80);
    for (const id of ['warm-rgb', 'warm-255']) {
      const out = await engine.processRaster(input, ['colorize'], { models: { colorize: id } });
      const { u, v } = meanChroma(out);
      // Gamut clipping near black/white shrinks chroma slightly; mid-greys dominate this pattern.
      expect(u).toBeCloseTo(warmU, 1);
      expect(v).toBeCloseTo(warmV, 1);
      expect(v).toBeGreaterThan(0.1); // clearly warm, not grey
    }
  });

  it('merges Lab a,b output (DDColor-style) and YUV output', async () => {
    const input = greyPattern(64, 64);
    const red = meanChroma(
      await engine.processRaster(input, ['colorize'], { models: { colorize: 'ab-red' } }),
    );
    expect(red.v).toBeGreaterThan(0.05); // a>0 is red/magenta: V positive
    const blue = meanChroma(
      await engine.processRaster(input, ['colorize'], { models: { colorize: 'uv-blue' } }),
    );
    expect(blue.u).toBeGreaterThan(0.08);
    expect(blue.v).toBeLessThan(-0.05);
  });

  it('honours every input convention: range, normalization, NHWC, 1 channel, 3 frames, fixed size, multiple of 8', async () => {
    // Left half dark, right half bright: the probe's U = 0.3*g - 0.15 is negative on the left, positive on the right.
    const w = 96,
      h = 64;
    const data = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = x < w / 2 ? 40 : 215;
    const input: Raster = { width: w, height: h, channels: 1, depth: 8, data };
    const expectU = (g: number) => 0.3 * g - 0.15;
    for (const id of [
      'probe-01',
      'probe-255-norm',
      'probe-nhwc',
      'probe-grey1',
      'probe-frames3',
      'probe-fixed',
      'probe-mult8',
    ]) {
      const out = await engine.processRaster(input, ['colorize'], { models: { colorize: id } });
      const px = (x: number, y: number) => {
        const i = (y * w + x) * 3;
        const R = out.data[i] / 255,
          G = out.data[i + 1] / 255,
          B = out.data[i + 2] / 255;
        return 0.492 * (B - (KR * R + KG * G + KB * B));
      };
      expect(px(10, 30), id).toBeCloseTo(expectU(40 / 255), 1);
      expect(px(85, 30), id).toBeCloseTo(expectU(215 / 255), 1);
      expect(maxLumaError(input, out), id).toBeLessThanOrEqual(1);
    }
  });

  it('keeps 16-bit luminance for a 16-bit input', async () => {
    const input = greyPattern(80, 60, 16);
    const out = await engine.processRaster(input, ['colorize'], { models: { colorize: 'warm-rgb' } });
    expect(out.depth).toBe(16);
    let worst = 0;
    const distinct = new Set<number>();
    for (let i = 0; i < 80 * 60; i++) {
      const y = luma601(out.data[i * 3], out.data[i * 3 + 1], out.data[i * 3 + 2]);
      worst = Math.max(worst, Math.abs(y - input.data[i]));
      distinct.add(out.data[i * 3 + 1]);
    }
    expect(worst).toBeLessThanOrEqual(1); // ≤ 1 level of 65535
    expect(distinct.size).toBeGreaterThan(256); // really more than 8 bits of tone
  });

  it('rejects a render size outside the model range, and a different size for a fixed-size model', async () => {
    const input = greyPattern(40, 40);
    await expect(
      engine.processRaster(input, ['colorize'], { models: { colorize: 'warm-rgb' }, renderSize: 500 }),
    ).rejects.toThrow(/render size 500 is outside 32–128/);
    await expect(
      engine.processRaster(input, ['colorize'], { models: { colorize: 'probe-fixed' }, renderSize: 64 }),
    ).rejects.toThrow(/only runs at 48/);
  });

  it('saturation scales the predicted chroma', async () => {
    // Flat mid-grey: no pixel is near the gamut edge, so chroma scales exactly.
    const input: Raster = {
      width: 64,
      height: 64,
      channels: 1,
      depth: 8,
      data: new Uint8Array(64 * 64).fill(128),
    };
    const full = meanChroma(
      await engine.processRaster(input, ['colorize'], { models: { colorize: 'warm-rgb' } }),
    );
    const half = meanChroma(
      await engine.processRaster(input, ['colorize'], { models: { colorize: 'warm-rgb' }, saturation: 0.5 }),
    );
    expect(half.v).toBeCloseTo(full.v / 2, 2);
  });
});

describe('chroma of a model RGB prediction', () => {
  it('planar (NCHW) and interleaved RGB give the same U,V planes', async () => {
    const { chromaFromRgb, chromaFromRgbPlanes } = await import('../../src/engine/image/color');
    const n = 97;
    const planes = new Float32Array(3 * n);
    const inter = new Float32Array(3 * n);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 3; c++) {
        const v = ((i * 37 + c * 101) % 256) / 255;
        planes[c * n + i] = v;
        inter[i * 3 + c] = v;
      }
    const a = chromaFromRgbPlanes(planes, n);
    const b = chromaFromRgb(inter, n);
    expect(Array.from(a.u)).toEqual(Array.from(b.u));
    expect(Array.from(a.v)).toEqual(Array.from(b.v));
  });
});
