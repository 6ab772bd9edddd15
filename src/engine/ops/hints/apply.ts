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
    });
    s.catch(() => sessions.delete(sample));
    sessions.set(sample, s);
  }
  return s;
}

function int64(a: Int32Array): BigInt64Array {
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]);
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
  const gx = bilinearAxis(gw, W);
  const gy = bilinearAxis(gh, H);
  const mx = bilinearAxis(cw, W);
  const my = bilinearAxis(ch, H);
  const fixed = {
    lumaWeights: new ort.Tensor('float32', Float32Array.from(lw), [C, 1]),
    coefficients: new ort.Tensor('float32', spread.coefficients, [6, gh, gw]),
    gridX0: new ort.Tensor('int64', int64(gx.i0), [W]),
    gridX1: new ort.Tensor('int64', int64(gx.i1), [W]),
    gridFx: new ort.Tensor('float32', gx.f, [W]),
    modelChroma: new ort.Tensor('float32', model, [2, ch, cw]),
    modelX0: new ort.Tensor('int64', int64(mx.i0), [W]),
    modelX1: new ort.Tensor('int64', int64(mx.i1), [W]),
    modelFx: new ort.Tensor('float32', mx.f, [W]),
  };
  const gy0 = int64(gy.i0);
  const gy1 = int64(gy.i1);
  const my0 = int64(my.i0);
  const my1 = int64(my.i1);
  const out = depth === 16 ? new Uint16Array(W * H * 3) : new Uint8Array(W * H * 3);
  const rowsPerBand = Math.max(1, Math.floor(BAND_PIXELS / W));
  for (let y0 = 0; y0 < H; y0 += rowsPerBand) {
    const y1 = Math.min(H, y0 + rowsPerBand);
    const rows = y1 - y0;
    const pixels = raster.data.subarray(y0 * W * C, y1 * W * C);
    const r = await graph.run({
      ...fixed,
      pixels: new ort.Tensor(sample, pixels, [rows, W, C]),
      gridY0: new ort.Tensor('int64', gy0.subarray(y0, y1), [rows]),
      gridY1: new ort.Tensor('int64', gy1.subarray(y0, y1), [rows]),
      gridFy: new ort.Tensor('float32', gy.f.subarray(y0, y1), [rows, 1]),
      modelY0: new ort.Tensor('int64', my0.subarray(y0, y1), [rows]),
      modelY1: new ort.Tensor('int64', my1.subarray(y0, y1), [rows]),
      modelFy: new ort.Tensor('float32', my.f.subarray(y0, y1), [rows, 1]),
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
