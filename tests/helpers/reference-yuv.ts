import { bilinearAxis, U_SCALE, V_SCALE, YUV_MATRICES, yuvRange } from '../../src/engine/image/color';
import type { YuvMatrixName } from '../../src/engine/types';

/**
 * The film merge as it was first written (one plain loop over the chroma samples): the reference
 * the engine's WebAssembly kernel is checked against.
 *
 * The film version of the merge, for frames that stay in YUV 4:2:0: the luma plane is kept as it
 * is (exactly: no RGB round trip) and only the chroma planes are made, at chroma resolution, from
 * the prediction's U,V (BT.601 analog, cw×ch, as for photos) turned into the frame's own matrix
 * and range. Gamut-safe like mergeLumaChroma: each chroma sample is scaled down just enough that
 * none of the 2×2 luma pixels it colours leaves the RGB cube (using their darkest and brightest).
 */
export function referenceChromaForYuv420(
  luma: Uint8Array,
  width: number,
  height: number,
  u: Float32Array,
  v: Float32Array,
  cw: number,
  ch: number,
  saturation: number,
  matrix: YuvMatrixName,
  range: 'tv' | 'pc',
): { u: Uint8Array; v: Uint8Array } {
  const CW = width >> 1;
  const CH = height >> 1;
  const outU = new Uint8Array(CW * CH);
  const outV = new Uint8Array(CW * CH);
  const [kr, kb] = YUV_MATRICES[matrix];
  const kg = 1 - kr - kb;
  const { y0, ys, cs } = yuvRange(range);
  const invYs = 1 / ys;
  // Colour differences per unit of U/V, then Cb/Cr codes per unit of colour difference.
  const bu = saturation / U_SCALE;
  const rv = saturation / V_SCALE;
  const cbK = cs / (2 * (1 - kb));
  const crK = cs / (2 * (1 - kr));
  const ax = bilinearAxis(cw, CW);
  const ay = bilinearAxis(ch, CH);
  for (let j = 0; j < CH; j++) {
    const r0 = ay.i0[j] * cw;
    const r1 = ay.i1[j] * cw;
    const fy = ay.f[j];
    const l0 = 2 * j * width;
    const l1 = l0 + width;
    for (let i = 0; i < CW; i++) {
      const a = ax.i0[i];
      const b = ax.i1[i];
      const fx = ax.f[i];
      const ut = u[r0 + a] + (u[r0 + b] - u[r0 + a]) * fx;
      const ub = u[r1 + a] + (u[r1 + b] - u[r1 + a]) * fx;
      const vt = v[r0 + a] + (v[r0 + b] - v[r0 + a]) * fx;
      const vb = v[r1 + a] + (v[r1 + b] - v[r1 + a]) * fx;
      const dB = (ut + (ub - ut) * fy) * bu;
      const dR = (vt + (vb - vt) * fy) * rv;
      // G − Y from the other two, so the frame's own luma (Kr R + Kg G + Kb B) does not move.
      const dG = -(kr * dR + kb * dB) / kg;
      const x = 2 * i;
      const p = luma[l0 + x];
      const q = luma[l0 + x + 1];
      const r = luma[l1 + x];
      const s = luma[l1 + x + 1];
      let lo = p < q ? p : q;
      lo = r < lo ? r : lo;
      lo = s < lo ? s : lo;
      let hi = p > q ? p : q;
      hi = r > hi ? r : hi;
      hi = s > hi ? s : hi;
      let ymin = (lo - y0) * invYs;
      let ymax = (hi - y0) * invYs;
      ymin = ymin < 0 ? 0 : ymin > 1 ? 1 : ymin;
      ymax = ymax < 0 ? 0 : ymax > 1 ? 1 : ymax;
      let up = dR > dG ? dR : dG;
      up = dB > up ? dB : up;
      let down = dR < dG ? dR : dG;
      down = dB < down ? dB : down;
      let t = 1;
      if (up > 0 && ymax + up > 1) t = (1 - ymax) / up;
      if (down < 0 && ymin + down < 0) t = Math.min(t, ymin / -down);
      const k = j * CW + i;
      // Codes round to nearest; Cb/Cr lie within ±0.5, whose full-range ends (255.5) are clamped.
      const cu = 128.5 + dB * t * cbK;
      const cv = 128.5 + dR * t * crK;
      outU[k] = cu >= 255 ? 255 : cu;
      outV[k] = cv >= 255 ? 255 : cv;
    }
  }
  return { u: outU, v: outV };
}
