import type { Hint } from '../../../shared/hints';
import { bilinearAxis, KB, KG, KR, maxValue, mergeLumaChroma } from '../../image/color';
import { resizeRaster } from '../../image/resize';
import type { InferStats } from '../../model/infer';
import type { Raster } from '../../types';
import { HINTS_WASM } from './hints-wasm';
import { hintGridSize, propagateHints } from './propagate';

/**
 * The colorize merge with colour hints. The hints are spread on a small grid (propagate.ts); the
 * grid's answer is re-sharpened by the picture's luminance at the "detail" size (long side at most
 * HINT_DETAIL: the whole picture for previews and small photos, a quarter of a 12 MP photo's side)
 * and blended with the model's chroma there (per pixel in WebAssembly SIMD, native/hints.ts); that
 * chroma plane then goes through the ordinary merge (mergeLumaChroma) in place of the model's,
 * which enlarges it bilinearly onto the original luminance. So a re-render with hints costs the
 * plain merge plus work on under a megapixel, whatever the photo's size, and the luminance is kept
 * and gamut handled exactly as without hints.
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
function areaMean(L: ReturnType<typeof layout>, w: number, h: number, gw: number, gh: number): Float32Array {
  // Separable, rows (in the kernel: the pass over every detail pixel) then columns.
  const ax = areaAxis(w, gw);
  const ay = areaAxis(h, gh);
  L.first.set(ax.first);
  L.weight.set(ax.weight);
  const { at } = L;
  L.k.areaRows(at.lum, w, h, at.first, at.weight, ax.span, gw, at.rows);
  const rows = L.rows;
  const out = new Float32Array(gw * gh);
  for (let j = 0; j < gh; j++)
    for (let t = 0; t < ay.span && ay.first[j] + t < h; t++) {
      const wt = ay.weight[j * ay.span + t];
      if (wt === 0) continue;
      const r = (ay.first[j] + t) * gw;
      for (let x = 0; x < gw; x++) out[j * gw + x] += rows[r + x] * wt;
    }
  return out;
}

/**
 * The taps of areaMean along one axis. A cell spans j·k … (j+1)·k source pixels (k = from/to ≥ 1),
 * so it touches at most ceil(k) + 1 of them: per cell its first pixel and `span` weights.
 */
function areaAxis(from: number, to: number) {
  const k = from / to;
  const span = areaSpan(from, to);
  const first = new Int32Array(to);
  const weight = new Float32Array(to * span);
  for (let j = 0; j < to; j++) {
    const a = j * k;
    const b = (j + 1) * k;
    first[j] = Math.floor(a);
    for (let i = first[j]; i < Math.min(from, Math.ceil(b)); i++)
      weight[j * span + i - first[j]] = (Math.min(b, i + 1) - Math.max(a, i)) / k;
  }
  return { first, weight, span };
}

const areaSpan = (from: number, to: number) => Math.ceil(from / to) + 1;

/** Luminance 0..1 of a raster, one value a pixel, into out. */
function lumaOf(r: Raster, out: Float32Array): void {
  const n = r.width * r.height;
  const inv = 1 / maxValue(r.depth);
  const d = r.data;
  if (r.channels === 1) for (let i = 0; i < n; i++) out[i] = d[i] * inv;
  else for (let i = 0; i < n; i++) out[i] = (KR * d[3 * i] + KG * d[3 * i + 1] + KB * d[3 * i + 2]) * inv;
}

interface Kernel {
  memory: WebAssembly.Memory;
  heapBase(): number;
  blendRows(...args: number[]): void;
  widenRows(...args: number[]): void;
  areaRows(...args: number[]): void;
}

/** One instance per thread; its memory holds one picture's detail-size planes at a time. */
let kernel: Kernel | undefined;

/** Room past each buffer for the kernel's whole-lane reads and writes. */
const SLACK = 64;

/**
 * The kernel's memory laid out for one picture: float views of the detail luminance, the grid's
 * coefficients and the model's chroma (gw×gh, cw×ch) and their rows widened to the detail width,
 * the column and row taps and the output planes. Synchronous from here until the
 * outputs are read (no await), so two pictures in one thread never share it.
 */
function layout(dw: number, dh: number, gw: number, gh: number, cw: number, ch: number) {
  kernel ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(HINTS_WASM, 'base64')), {})
    .exports as unknown as Kernel;
  const k = kernel;
  let top = (k.heapBase() + 15) & ~15;
  const take = (floats: number) => {
    const at = top;
    top = (top + floats * 4 + SLACK + 15) & ~15;
    return at;
  };
  const n = dw * dh;
  const at = {
    lum: take(n),
    grid: take(6 * gw * gh),
    chroma: take(2 * cw * ch),
    gx: [take(dw), take(dw), take(dw)],
    mx: [take(dw), take(dw), take(dw)],
    rows: take(gw * dh),
    first: take(gw),
    weight: take(gw * areaSpan(dw, gw)),
    coef: take(6 * gh * dw),
    model: take(2 * ch * dw),
    gy: [take(dh), take(dh), take(dh)],
    my: [take(dh), take(dh), take(dh)],
    u: take(n),
    v: take(n),
  };
  const have = k.memory.buffer.byteLength;
  if (top > have) k.memory.grow(Math.ceil((top - have) / 65536));
  const mem = k.memory.buffer;
  const f32 = (p: number, len: number) => new Float32Array(mem, p, len);
  const taps = (p: number[], t: ReturnType<typeof bilinearAxis>) => {
    new Int32Array(mem, p[0], t.i0.length).set(t.i0);
    new Int32Array(mem, p[1], t.i1.length).set(t.i1);
    f32(p[2], t.f.length).set(t.f);
  };
  return {
    k,
    at,
    lum: f32(at.lum, n),
    grid: f32(at.grid, 6 * gw * gh),
    chroma: f32(at.chroma, 2 * cw * ch),
    rows: f32(at.rows, gw * dh),
    first: new Int32Array(mem, at.first, gw),
    weight: f32(at.weight, gw * areaSpan(dw, gw)),
    u: f32(at.u, n),
    v: f32(at.v, n),
    taps,
  };
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
  const { gw, gh } = hintGridSize(W, H);
  const { cw, ch } = prediction;
  const small = await resizeRaster(raster, dw, dh, 'linear');
  // From here on synchronous: the kernel's memory is in use (layout()).
  const L = layout(dw, dh, gw, gh, cw, ch);
  lumaOf(small, L.lum);
  const guide = areaMean(L, dw, dh, gw, gh);
  const spread = propagateHints(hints, W, H, guide, gw, gh);
  if (stats) stats.hintsMs = (stats.hintsMs ?? 0) + (performance.now() - t0);

  // Saturation scales the model's colour only: a hint asks for its own colour as it is.
  const model = L.chroma;
  for (let i = 0; i < cw * ch; i++) {
    model[i] = prediction.u[i] * saturation;
    model[cw * ch + i] = prediction.v[i] * saturation;
  }
  L.grid.set(spread.coefficients);
  L.taps(L.at.gx, bilinearAxis(gw, dw));
  L.taps(L.at.mx, bilinearAxis(cw, dw));
  L.taps(L.at.gy, bilinearAxis(gh, dh));
  L.taps(L.at.my, bilinearAxis(ch, dh));
  const { at } = L;
  L.k.widenRows(at.grid, 6 * gh, gw, at.gx[0], at.gx[1], at.gx[2], dw, at.coef);
  L.k.widenRows(at.chroma, 2 * ch, cw, at.mx[0], at.mx[1], at.mx[2], dw, at.model);
  // prettier-ignore
  L.k.blendRows(
    dw, 0, dh,
    at.lum, at.coef, gh * dw, at.model, ch * dw,
    at.gy[0], at.gy[1], at.gy[2],
    at.my[0], at.my[1], at.my[2],
    at.u, at.v,
  );
  return mergeLumaChroma(raster, L.u, L.v, dw, dh, 1, depth);
}
