import type { Hint } from '../../../shared/hints';
import { bilinearAxis, KB, KG, KR, maxValue, mergeLumaChroma } from '../../image/color';
import { resizeRaster } from '../../image/resize';
import type { InferStats } from '../../model/infer';
import type { Raster } from '../../types';
import { hintGridSize, propagateHints } from './propagate';

/**
 * The colorize merge with colour hints. The hints are spread on a small grid (propagate.ts); the
 * grid's answer is re-sharpened by the picture's luminance at the "detail" size (long side at most
 * HINT_DETAIL: the whole picture for previews and small photos, a quarter of a 12 MP photo's side)
 * and blended with the model's chroma there; that chroma plane then goes through the ordinary merge
 * (mergeLumaChroma) in place of the model's, which enlarges it bilinearly onto the original
 * luminance. So a re-render with hints costs the plain merge plus work on about a megapixel,
 * whatever the photo's size, and the luminance is kept and gamut handled exactly as without hints.
 *
 * Why the chroma can be resolved at a quarter of a large photo's side: the eye resolves colour far
 * more coarsely than brightness (JPEG stores it at half), and the model's own chroma comes from a
 * render of a few hundred pixels; an edge of the hint colour is placed by the detail luminance to
 * within about 4 px of a 4000 px photo, and the luminance edge itself stays exact.
 */

/** Long side (px) at which the hint chroma is resolved (see above). */
export const HINT_DETAIL = 1024;

export function hintDetailSize(width: number, height: number): { dw: number; dh: number } {
  const k = Math.min(1, HINT_DETAIL / Math.max(width, height));
  return { dw: Math.max(1, Math.round(width * k)), dh: Math.max(1, Math.round(height * k)) };
}

/**
 * The mean of a w×h plane over each cell of a gw×gh grid laid on it (cells of fractional size,
 * pixels shared by two cells split between them). A box, not a wider kernel: a grid cell beside an
 * edge keeps the luminance of its own side, so the hint it carries fills up to the edge.
 */
function areaMean(src: Float32Array, w: number, h: number, gw: number, gh: number): Float32Array {
  // Separable: the weights of each source column (row) in each grid column (row).
  const axis = (from: number, to: number) => {
    const k = from / to;
    const taps: { i: number; w: number }[][] = [];
    for (let j = 0; j < to; j++) {
      const a = j * k;
      const b = (j + 1) * k;
      const t: { i: number; w: number }[] = [];
      for (let i = Math.floor(a); i < Math.min(from, Math.ceil(b)); i++)
        t.push({ i, w: (Math.min(b, i + 1) - Math.max(a, i)) / k });
      taps.push(t);
    }
    return taps;
  };
  const ax = axis(w, gw);
  const ay = axis(h, gh);
  const rows = new Float32Array(gw * h);
  for (let y = 0; y < h; y++)
    for (let j = 0; j < gw; j++) {
      let s = 0;
      for (const t of ax[j]) s += src[y * w + t.i] * t.w;
      rows[y * gw + j] = s;
    }
  const out = new Float32Array(gw * gh);
  for (let j = 0; j < gh; j++)
    for (const t of ay[j]) for (let x = 0; x < gw; x++) out[j * gw + x] += rows[t.i * gw + x] * t.w;
  return out;
}

/** Luminance 0..1 of a raster, one value a pixel. */
function lumaOf(r: Raster): Float32Array {
  const n = r.width * r.height;
  const out = new Float32Array(n);
  const inv = 1 / maxValue(r.depth);
  const d = r.data;
  if (r.channels === 1) for (let i = 0; i < n; i++) out[i] = d[i] * inv;
  else for (let i = 0; i < n; i++) out[i] = (KR * d[3 * i] + KG * d[3 * i + 1] + KB * d[3 * i + 2]) * inv;
  return out;
}

/**
 * Row y of the `count` planes of a planar w×h stack, interpolated between source rows (the
 * vertical half of a bilinear sampling), into out (count × w).
 */
function betweenRows(
  planes: Float32Array,
  count: number,
  w: number,
  h: number,
  ay: ReturnType<typeof bilinearAxis>,
  y: number,
  out: Float32Array,
): void {
  const f = ay.f[y];
  for (let k = 0; k < count; k++) {
    const a = k * w * h + ay.i0[y] * w;
    const b = k * w * h + ay.i1[y] * w;
    const o = k * w;
    for (let x = 0; x < w; x++) out[o + x] = planes[a + x] + (planes[b + x] - planes[a + x]) * f;
  }
}

/**
 * The chroma (U, V planes, dw×dh) with the hints applied, at the detail size: per pixel the grid's
 * guided-filter coefficients, enlarged bilinearly, give α and X from the detail luminance Y
 * (q = A·Y + B), and u = m + clip(α) · (X/α − m) with m the model's chroma (saturation applied)
 * sampled as the plain merge samples it. A plain loop: about a megapixel, a few operations each.
 */
function hintedChroma(
  lum: Float32Array,
  dw: number,
  dh: number,
  coef: Float32Array,
  gw: number,
  gh: number,
  model: Float32Array,
  cw: number,
  ch: number,
): { u: Float32Array; v: Float32Array } {
  const u = new Float32Array(dw * dh);
  const v = new Float32Array(dw * dh);
  const gx = bilinearAxis(gw, dw);
  const gy = bilinearAxis(gh, dh);
  const mx = bilinearAxis(cw, dw);
  const my = bilinearAxis(ch, dh);
  const crow = new Float32Array(6 * gw);
  const mrow = new Float32Array(2 * cw);
  const { i0: g0, i1: g1, f: gf } = gx;
  const { i0: m0, i1: m1, f: mf } = mx;
  for (let y = 0; y < dh; y++) {
    betweenRows(coef, 6, gw, gh, gy, y, crow);
    betweenRows(model, 2, cw, ch, my, y, mrow);
    const row = y * dw;
    for (let x = 0; x < dw; x++) {
      const Y = lum[row + x];
      const a = g0[x];
      const b = g1[x];
      const f = gf[x];
      // α, Xu, Xv = A·Y + B, with A (planes 0–2) and B (planes 3–5) interpolated along x.
      const la = crow[a] + (crow[b] - crow[a]) * f;
      const lb = crow[3 * gw + a] + (crow[3 * gw + b] - crow[3 * gw + a]) * f;
      const ua = crow[gw + a] + (crow[gw + b] - crow[gw + a]) * f;
      const ub = crow[4 * gw + a] + (crow[4 * gw + b] - crow[4 * gw + a]) * f;
      const va = crow[2 * gw + a] + (crow[2 * gw + b] - crow[2 * gw + a]) * f;
      const vb = crow[5 * gw + a] + (crow[5 * gw + b] - crow[5 * gw + a]) * f;
      const qa = la * Y + lb;
      const alpha = qa < 0 ? 0 : qa > 1 ? 1 : qa;
      // clip(α) · X / α, with α kept off 0 where X is noise around nothing.
      const k = alpha / (qa > 1e-3 ? qa : 1e-3);
      const c = m0[x];
      const e = m1[x];
      const fm = mf[x];
      const mu = mrow[c] + (mrow[e] - mrow[c]) * fm;
      const mv = mrow[cw + c] + (mrow[cw + e] - mrow[cw + c]) * fm;
      u[row + x] = mu + (ua * Y + ub) * k - alpha * mu;
      v[row + x] = mv + (va * Y + vb) * k - alpha * mv;
    }
  }
  return { u, v };
}

export async function mergeWithHints(
  raster: Raster,
  prediction: { u: Float32Array; v: Float32Array; cw: number; ch: number },
  saturation: number,
  hints: readonly Hint[],
  stats?: InferStats,
): Promise<Raster> {
  const { width: W, height: H, depth } = raster;
  const t0 = performance.now();
  const { dw, dh } = hintDetailSize(W, H);
  const detail = lumaOf(await resizeRaster(raster, dw, dh, 'linear'));
  const { gw, gh } = hintGridSize(W, H);
  const guide = areaMean(detail, dw, dh, gw, gh);
  const spread = propagateHints(hints, W, H, guide, gw, gh);
  if (stats) stats.hintsMs = (stats.hintsMs ?? 0) + (performance.now() - t0);

  const { cw, ch } = prediction;
  // Saturation scales the model's colour only: a hint asks for its own colour as it is.
  const model = new Float32Array(2 * cw * ch);
  for (let i = 0; i < cw * ch; i++) {
    model[i] = prediction.u[i] * saturation;
    model[cw * ch + i] = prediction.v[i] * saturation;
  }
  const { u, v } = hintedChroma(detail, dw, dh, spread.coefficients, gw, gh, model, cw, ch);
  return mergeLumaChroma(raster, u, v, dw, dh, 1, depth);
}
