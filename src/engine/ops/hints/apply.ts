import type { Hint } from '../../../shared/hints';
import { bilinearAxis, KB, KG, KR, maxValue, mergeLumaChroma } from '../../image/color';
import { resizeRaster } from '../../image/resize';
import type { InferStats } from '../../model/infer';
import type { Raster } from '../../types';
import { hintsMemory, type HintsMemory } from './kernel';
import { geodesicBuckets, hintGridSize, propagateHints } from './propagate';

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
 * The mean of the w×h detail luminance over each cell of a gw×gh grid laid on it (cells of
 * fractional size, pixels shared by two cells split between them), into the grid's luminance. A
 * box, not a wider kernel: a grid cell beside an edge keeps the luminance of its own side, so the
 * hint it carries fills up to the edge. Separable, rows then columns, both in the kernel.
 */
function areaMean(M: HintsMemory, w: number, h: number, gw: number, gh: number): void {
  const ax = areaAxis(w, gw);
  const ay = areaAxis(h, gh);
  const { k, at } = M;
  M.i32(at.first, gw).set(ax.first);
  M.f32(at.weight, ax.weight.length).set(ax.weight);
  M.i32(at.firstY, gh).set(ay.first);
  M.f32(at.weightY, ay.weight.length).set(ay.weight);
  k.areaRows(at.lum, w, h, at.first, at.weight, ax.span, gw, at.rows);
  k.areaCols(at.rows, gw, h, at.firstY, at.weightY, ay.span, gh, at.glum);
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

/**
 * What the hints need of a picture and not of the hints: its luminance at the detail size and
 * the box mean of that on the solve grid. A re-render of the same photo with other hints takes
 * it from the engine's memo of the file (as the model's colour comes from its cache).
 */
export interface HintGuide {
  lum: Float32Array;
  glum: Float32Array;
}

async function hintGuide(raster: Raster): Promise<HintGuide> {
  const { dw, dh } = hintDetailSize(raster.width, raster.height);
  const { gw, gh } = hintGridSize(raster.width, raster.height);
  const small = await resizeRaster(raster, dw, dh, 'linear');
  // From here on synchronous: the kernel's memory is in use (hintsMemory()).
  const M = hintsMemory(sizes(dw, dh, gw, gh, 0, 0, small.data.byteLength));
  const { k, at } = M;
  new Uint8Array(M.mem, at.small, small.data.byteLength).set(
    new Uint8Array(small.data.buffer, small.data.byteOffset, small.data.byteLength),
  );
  const fmt = (small.channels === 1 ? 0 : 2) + (small.depth === 16 ? 1 : 0);
  k.luma(at.small, dw * dh, fmt, 1 / maxValue(small.depth), KR, KG, KB, at.lum);
  areaMean(M, dw, dh, gw, gh);
  return { lum: M.f32(at.lum, dw * dh).slice(), glum: M.f32(at.glum, gw * gh).slice() };
}

const sizes = (dw: number, dh: number, gw: number, gh: number, cw: number, ch: number, smallBytes = 0) => ({
  dw,
  dh,
  gw,
  gh,
  cw,
  ch,
  smallBytes,
  span: areaSpan(dw, gw),
  spanY: areaSpan(dh, gh),
  buckets: geodesicBuckets(gw, gh),
});

/**
 * The colorize merge with hints (see the top of this file). `memo`, where the raster is a file
 * as read, keeps the picture's HintGuide for the next render of that file.
 */
export async function mergeWithHints(
  raster: Raster,
  prediction: { u: Float32Array; v: Float32Array; cw: number; ch: number },
  saturation: number,
  hints: readonly Hint[],
  stats?: InferStats,
  memo?: <T>(key: string, make: () => Promise<T>) => Promise<T>,
): Promise<Raster> {
  const { width: W, height: H, depth } = raster;
  const t0 = performance.now();
  const { dw, dh } = hintDetailSize(W, H);
  const { gw, gh } = hintGridSize(W, H);
  const { cw, ch } = prediction;
  const guide = memo ? await memo(`hints-guide:${W}x${H}`, () => hintGuide(raster)) : await hintGuide(raster);
  const M = hintsMemory(sizes(dw, dh, gw, gh, cw, ch));
  const { k, at } = M;
  M.f32(at.lum, dw * dh).set(guide.lum);
  M.f32(at.glum, gw * gh).set(guide.glum);
  propagateHints(hints, W, H, M, gw, gh);
  if (stats) stats.hintsMs = (stats.hintsMs ?? 0) + (performance.now() - t0);

  // Saturation scales the model's colour only: a hint asks for its own colour as it is.
  M.f32(at.chroma, cw * ch).set(prediction.u.subarray(0, cw * ch));
  M.f32(at.chroma + 4 * cw * ch, cw * ch).set(prediction.v.subarray(0, cw * ch));
  k.scale(at.chroma, 2 * cw * ch, saturation);
  M.taps(at.gx, bilinearAxis(gw, dw));
  M.taps(at.mx, bilinearAxis(cw, dw));
  M.taps(at.gy, bilinearAxis(gh, dh));
  M.taps(at.my, bilinearAxis(ch, dh));
  // The guided-filter coefficients (propagateHints) are at at.grid, 6 planes of gw×gh.
  // prettier-ignore
  k.blend(
    dw, dh, at.lum,
    at.grid, gw, gh, at.chroma, cw, ch,
    at.gx[0], at.gx[1], at.gx[2], at.mx[0], at.mx[1], at.mx[2],
    at.gy[0], at.gy[1], at.gy[2], at.my[0], at.my[1], at.my[2],
    at.blend, at.u, at.v,
  );
  return mergeLumaChroma(raster, M.f32(at.u, dw * dh), M.f32(at.v, dw * dh), dw, dh, 1, depth);
}
