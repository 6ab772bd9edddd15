import * as ort from 'onnxruntime-node';
import type { Hint } from '../../../shared/hints';
import { bilinearAxis, KB, KG, KR, maxValue, mergeLumaChroma } from '../../image/color';
import { resizeRaster } from '../../image/resize';
import type { InferStats } from '../../model/infer';
import type { Raster } from '../../types';
import { HINT_GRAPHS } from './graph.generated';
import { hintGridSize, propagateHints } from './propagate';

/**
 * The colorize merge with colour hints: the hints are spread on a small grid (propagate.ts), then
 * an ONNX graph (tools/hints-graph) turns them into full-size chroma, band by band, re-sharpened
 * by the picture's own full-resolution luminance, and the usual merge (mergeLumaChroma) puts that
 * chroma on the original luminance, so the luminance is kept exactly as without hints. Where no
 * hint reaches (α = 0) the chroma is the model's, sampled exactly as the plain merge samples it.
 */

/** Pixels per band: bounds the graph's working memory (about 20 float planes of a band). */
const BAND_PIXELS = 1 << 20;

const sessions = new Map<'uint8' | 'uint16', Promise<ort.InferenceSession>>();

function session(sample: 'uint8' | 'uint16'): Promise<ort.InferenceSession> {
  let s = sessions.get(sample);
  if (!s) {
    s = ort.InferenceSession.create(Buffer.from(HINT_GRAPHS[sample], 'base64'), {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      // Elementwise work in short bursts: idle threads sleep instead of spinning, which on a busy
      // machine (render workers, other apps) only burns CPU others could use.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    s.catch(() => sessions.delete(sample));
    sessions.set(sample, s);
  }
  return s;
}

/**
 * Planes [first, first+count) of a planar w×h stack, interpolated between rows for picture rows
 * [y0, y1) (the vertical half of the plain merge's bilinear sampling): count × rows × w, small.
 */
function betweenRows(
  planes: Float32Array,
  first: number,
  count: number,
  w: number,
  h: number,
  ay: ReturnType<typeof bilinearAxis>,
  y0: number,
  y1: number,
): Float32Array {
  const rows = y1 - y0;
  const out = new Float32Array(count * rows * w);
  for (let k = 0; k < count; k++) {
    const src = (first + k) * w * h;
    for (let y = y0; y < y1; y++) {
      const a = src + ay.i0[y] * w;
      const b = src + ay.i1[y] * w;
      const f = ay.f[y];
      const o = (k * rows + (y - y0)) * w;
      for (let x = 0; x < w; x++) out[o + x] = planes[a + x] + (planes[b + x] - planes[a + x]) * f;
    }
  }
  return out;
}

/** Luminance 0..1 of a small raster (the solve grid's guide). */
function lumaOf(r: Raster): Float32Array {
  const n = r.width * r.height;
  const out = new Float32Array(n);
  const inv = 1 / maxValue(r.depth);
  const d = r.data;
  if (r.channels === 1) for (let i = 0; i < n; i++) out[i] = d[i] * inv;
  else for (let i = 0; i < n; i++) out[i] = (KR * d[3 * i] + KG * d[3 * i + 1] + KB * d[3 * i + 2]) * inv;
  return out;
}

export async function mergeWithHints(
  raster: Raster,
  prediction: { u: Float32Array; v: Float32Array; cw: number; ch: number },
  saturation: number,
  hints: readonly Hint[],
  stats?: InferStats,
): Promise<Raster> {
  const { width: W, height: H, channels: C, depth } = raster;
  const t0 = performance.now();
  const { gw, gh } = hintGridSize(W, H);
  const guide = lumaOf(await resizeRaster(raster, gw, gh, 'linear'));
  const spread = propagateHints(hints, W, H, guide, gw, gh);
  if (stats) stats.hintsMs = (stats.hintsMs ?? 0) + (performance.now() - t0);

  const { cw, ch } = prediction;
  // Saturation scales the model's colour only: a hint asks for its own colour as it is.
  const model = new Float32Array(2 * cw * ch);
  for (let i = 0; i < cw * ch; i++) {
    model[i] = prediction.u[i] * saturation;
    model[cw * ch + i] = prediction.v[i] * saturation;
  }
  const sample = depth === 16 ? 'uint16' : 'uint8';
  const graph = await session(sample);
  const S = maxValue(depth);
  const lw = C === 1 ? [1 / S] : [KR / S, KG / S, KB / S];
  const gy = bilinearAxis(gh, H);
  const my = bilinearAxis(ch, H);
  const lumaWeights = new ort.Tensor('float32', Float32Array.from(lw), [C, 1]);
  const coef = spread.coefficients;
  const out = depth === 16 ? new Uint16Array(W * H * 3) : new Uint8Array(W * H * 3);
  const rowsPerBand = Math.max(1, Math.floor(BAND_PIXELS / W));
  for (let y0 = 0; y0 < H; y0 += rowsPerBand) {
    const y1 = Math.min(H, y0 + rowsPerBand);
    const rows = y1 - y0;
    const pixels = raster.data.subarray(y0 * W * C, y1 * W * C);
    const r = await graph.run({
      pixels: new ort.Tensor(sample, pixels, [rows, W, C]),
      lumaWeights,
      coefA: new ort.Tensor('float32', betweenRows(coef, 0, 3, gw, gh, gy, y0, y1), [3, rows, gw]),
      coefB: new ort.Tensor('float32', betweenRows(coef, 3, 3, gw, gh, gy, y0, y1), [3, rows, gw]),
      modelChroma: new ort.Tensor('float32', betweenRows(model, 0, 2, cw, ch, my, y0, y1), [2, rows, cw]),
      size3: new ort.Tensor('int64', BigInt64Array.from([3n, BigInt(rows), BigInt(W)]), [3]),
      size2: new ort.Tensor('int64', BigInt64Array.from([2n, BigInt(rows), BigInt(W)]), [3]),
    });
    const uv = r.uv.data as Float32Array;
    const band: Raster = { width: W, height: rows, channels: C, depth, data: pixels };
    mergeLumaChroma(band, uv.subarray(0, rows * W), uv.subarray(rows * W), W, rows, 1, depth, {
      y0: 0,
      y1: rows,
      out: out.subarray(y0 * W * 3, y1 * W * 3),
    });
  }
  return { width: W, height: H, channels: 3, depth, data: out };
}
