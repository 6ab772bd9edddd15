import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine';
import { chromaForYuv420, YUV_MATRICES, yuvRange } from '../../src/engine/image/color';
import type { ChromaPlanes, LumaFrame, Raster } from '../../src/engine/types';
import { perFrame, renderVideo } from '../../src/engine/video';
import { installColorizer } from '../helpers/models';
import { referenceChromaForYuv420 } from '../helpers/reference-yuv';
import { decodeAll, ffprobeJson, makeClip, tempDir } from '../helpers/video-fixtures';

/** R, G, B on the 0..1 scale of one pixel of a 4:2:0 code triple (no clipping). */
function toRgb(Y: number, U: number, V: number, matrix: keyof typeof YUV_MATRICES, range: 'tv' | 'pc') {
  const [kr, kb] = YUV_MATRICES[matrix];
  const kg = 1 - kr - kb;
  const { y0, ys, cs } = yuvRange(range);
  const y = (Y - y0) / ys;
  const cb = (U - 128) / cs;
  const cr = (V - 128) / cs;
  const r = y + 2 * (1 - kr) * cr;
  const b = y + 2 * (1 - kb) * cb;
  const g = (y - kr * r - kb * b) / kg;
  return [r, g, b];
}

describe('chroma for 4:2:0 film frames', () => {
  const W = 64;
  const H = 48;
  // Luma: dark, mid and bright bands with texture, so the gamut edge is reached at both ends.
  const luma = new Uint8Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      luma[y * W + x] = Math.round(16 + ((x * 219) / (W - 1)) * (0.8 + 0.2 * ((y % 3) / 2)));
  const cw = 9;
  const ch = 7;
  const u = new Float32Array(cw * ch).map((_, i) => 0.3 * Math.sin(i));
  const v = new Float32Array(cw * ch).map((_, i) => 0.35 * Math.cos(i * 1.7));

  for (const matrix of ['bt601', 'bt709'] as const) {
    for (const range of ['tv', 'pc'] as const) {
      it(`keeps every pixel of each 2×2 block inside the RGB cube (${matrix}, ${range})`, () => {
        const p = chromaForYuv420(luma, W, H, u, v, cw, ch, 1.5, matrix, range);
        expect(p.u.length).toBe((W / 2) * (H / 2));
        let worst = 0;
        let scaled = 0;
        for (let j = 0; j < H / 2; j++)
          for (let i = 0; i < W / 2; i++) {
            const U = p.u[j * (W / 2) + i];
            const V = p.v[j * (W / 2) + i];
            for (const [dx, dy] of [
              [0, 0],
              [1, 0],
              [0, 1],
              [1, 1],
            ]) {
              const Y = luma[(2 * j + dy) * W + 2 * i + dx];
              const yn = Math.min(1, Math.max(0, (Y - yuvRange(range).y0) / yuvRange(range).ys));
              for (const c of toRgb(yuvRange(range).y0 + yn * yuvRange(range).ys, U, V, matrix, range)) {
                worst = Math.max(worst, -c, c - 1);
                if (c < 0.01 || c > 0.99) scaled++;
              }
            }
          }
        // Outside the cube by no more than the rounding of the 8-bit chroma codes.
        expect(worst).toBeLessThan(1.5 / 255);
        expect(scaled).toBeGreaterThan(0); // the edge of the cube was really reached
      });
    }
  }

  it('matches the reference loop within 1 code (every matrix and range, width not a multiple of 8)', () => {
    const w = 70;
    const h = 38;
    const l = new Uint8Array(w * h).map((_, i) => (i * 37 + ((i / w) | 0) * 11) % 256);
    for (const matrix of Object.keys(YUV_MATRICES) as (keyof typeof YUV_MATRICES)[])
      for (const range of ['tv', 'pc'] as const) {
        const got = chromaForYuv420(l, w, h, u, v, cw, ch, 1.3, matrix, range);
        const want = referenceChromaForYuv420(l, w, h, u, v, cw, ch, 1.3, matrix, range);
        let worst = 0;
        for (let i = 0; i < want.u.length; i++)
          worst = Math.max(worst, Math.abs(got.u[i] - want.u[i]), Math.abs(got.v[i] - want.v[i]));
        expect(worst, `${matrix} ${range}`).toBeLessThanOrEqual(1);
      }
  });

  it('leaves chroma that fits unchanged: mid-grey luma gets the predicted colour', () => {
    const grey = new Uint8Array(W * H).fill(126);
    const flatU = new Float32Array(4).fill(-0.05);
    const flatV = new Float32Array(4).fill(0.08);
    const p = chromaForYuv420(grey, W, H, flatU, flatV, 2, 2, 1, 'bt601', 'tv');
    // BT.601 analog U = 0.492 (B − Y) → Cb = (B − Y) / 1.772, in codes × 224.
    expect(p.u[0]).toBe(Math.round(128 + ((-0.05 / 0.492) * 224) / 1.772));
    expect(p.v[0]).toBe(Math.round(128 + ((0.08 / 0.877) * 224) / 1.402));
  });
});

describe('film colorize in YUV', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  /** A processor whose RGB path is counted and whose luma path gives constant chroma. */
  function processor(calls: { rgb: number; luma: LumaFrame[] }) {
    return perFrame(
      async (f: Raster) => {
        calls.rgb++;
        return f;
      },
      async (f: LumaFrame): Promise<ChromaPlanes> => {
        calls.luma.push({ ...f, luma: f.luma.slice() });
        const n = (f.width / 2) * (f.height / 2);
        return { u: new Uint8Array(n).fill(100), v: new Uint8Array(n).fill(150) };
      },
    );
  }

  for (const [name, video, pix] of [
    ['4:2:0 source', ['-c:v', 'ffv1', '-pix_fmt', 'yuv420p'], 'yuv420p'],
    ['greyscale source', ['-c:v', 'ffv1', '-pix_fmt', 'gray'], 'gray'],
  ] as const) {
    it(`keeps the luma bit for bit and writes the new chroma, never going through RGB (${name})`, async () => {
      const src = await makeClip(join(dir, `${pix}.mkv`), {
        video: [...video],
        seconds: 1,
        grey: pix === 'gray',
      });
      const out = join(dir, `${pix}-out.mp4`);
      const calls = { rgb: 0, luma: [] as LumaFrame[] };
      // CRF 0: lossless H.264, so what reached the encoder can be read back exactly.
      await renderVideo({ input: src, output: out, processor: processor(calls), processorKey: 'k', crf: 0 });
      expect(calls.rgb).toBe(0);
      expect(calls.luma.length).toBe(25);
      expect(calls.luma[0]).toMatchObject({ width: 96, height: 64, matrix: 'bt601' });
      const info = await ffprobeJson(out, ['-show_streams']);
      expect(info.streams[0].pix_fmt).toBe('yuv420p');
      const srcY = await decodeAll(src, pix);
      const got = await decodeAll(out, 'yuv420p');
      const n = 96 * 64;
      const frame = n * 1.5;
      expect(got.length).toBe(25 * frame);
      for (let f = 0; f < 25; f++) {
        const y = got.subarray(f * frame, f * frame + n);
        const s = srcY.subarray(f * (pix === 'gray' ? n : frame), f * (pix === 'gray' ? n : frame) + n);
        expect(Buffer.compare(y, s), `frame ${f} luma`).toBe(0);
        expect(got[f * frame + n]).toBe(100);
        expect(got[f * frame + n + n / 4]).toBe(150);
      }
    });
  }

  it('falls back to RGB frames where the output or a stage needs them (FFV1 RGB, chroma smoothing)', async () => {
    const src = await makeClip(join(dir, 'fallback.mkv'), {
      video: ['-c:v', 'ffv1', '-pix_fmt', 'yuv420p'],
      seconds: 1,
    });
    for (const extra of [
      { output: join(dir, 'fb.mkv') },
      { output: join(dir, 'fb.mp4'), smoothChroma: true },
    ]) {
      const calls = { rgb: 0, luma: [] as LumaFrame[] };
      await renderVideo({ input: src, processor: processor(calls), processorKey: 'k', ...extra });
      expect(calls.luma.length).toBe(0);
      expect(calls.rgb).toBe(25);
    }
  });

  it('the engine colours a frame from its luma with the model’s hue, in the frame’s matrix', async () => {
    const models = join(dir, 'models');
    installColorizer(models, 'warm', {}, 'rgb', [0, 0, 0], [0.8, 0.5, 0.3]);
    const engine = new Engine({ modelDirs: [models] });
    const luma = new Uint8Array(96 * 64).fill(120);
    for (const matrix of ['bt601', 'bt709'] as const) {
      const p = await engine.colorizeLuma(
        { width: 96, height: 64, luma, matrix, range: 'tv' },
        { models: { colorize: 'warm' } },
      );
      const [r, g, b] = toRgb(120, p.u[100], p.v[100], matrix, 'tv');
      // Warm: red above green above blue, around the model's (0.8, 0.5, 0.3) shifted to this luma.
      expect(r).toBeGreaterThan(g + 0.15);
      expect(g).toBeGreaterThan(b + 0.1);
      expect(r - b).toBeCloseTo(0.5, 1);
    }
  });
});
