import { bilinearAxis, KB, KG, KR, maxValue, U_SCALE, V_SCALE } from '../../src/engine/image/color';
import type { Raster } from '../../src/engine/types';

/**
 * The chroma merge as it was first written (one plain loop, every value on the 0..1 scale): the
 * reference the engine's faster merge is checked against.
 */
/**
 * Full-resolution merge: Y from the original, U,V from the small prediction (cw×ch planes),
 * upsampled bilinearly on the fly so no full-size chroma planes are ever allocated (chroma from a
 * 224–360 px render is smooth; a cubic kernel adds nothing visible). Where Y + chroma would leave
 * the RGB cube, the chroma is scaled down (never the luminance), so the output's luma equals the
 * original's up to rounding.
 */
export function referenceMerge(
  original: Raster,
  u: Float32Array,
  v: Float32Array,
  cw: number,
  ch: number,
  saturation: number,
  outDepth: 8 | 16,
): Raster {
  const { width, height } = original;
  const inMax = maxValue(original.depth);
  const outMax = maxValue(outDepth);
  const out = outDepth === 16 ? new Uint16Array(width * height * 3) : new Uint8Array(width * height * 3);
  const d = original.data;
  const grey = original.channels === 1;
  const invIn = 1 / inMax;
  // Per unit of U/V: R = Y + 1.13983 V, B = Y + 2.03211 U, G = Y - 0.39465 U - 0.58060 V.
  const rv = 1 / V_SCALE;
  const bu = 1 / U_SCALE;
  const gu = -(KB / KG) * bu;
  const gv = -(KR / KG) * rv;
  const ax = bilinearAxis(cw, width);
  const ay = bilinearAxis(ch, height);
  // Horizontally interpolated chroma rows, cached per source row (a source row serves many output rows).
  const rowCache = new Map<number, [Float32Array, Float32Array]>();
  const row = (sy: number): [Float32Array, Float32Array] => {
    let r = rowCache.get(sy);
    if (r) return r;
    const ru = new Float32Array(width);
    const rvv = new Float32Array(width);
    const base = sy * cw;
    for (let x = 0; x < width; x++) {
      const a = base + ax.i0[x];
      const b = base + ax.i1[x];
      const f = ax.f[x];
      ru[x] = (u[a] + (u[b] - u[a]) * f) * saturation;
      rvv[x] = (v[a] + (v[b] - v[a]) * f) * saturation;
    }
    if (rowCache.size > 4) rowCache.clear();
    r = [ru, rvv];
    rowCache.set(sy, r);
    return r;
  };
  for (let y = 0; y < height; y++) {
    const [u0, v0] = row(ay.i0[y]);
    const [u1, v1] = row(ay.i1[y]);
    const fy = ay.f[y];
    let j = y * width * 3;
    let i = y * width;
    for (let x = 0; x < width; x++, i++, j += 3) {
      const yv = grey ? d[i] * invIn : (KR * d[j] + KG * d[j + 1] + KB * d[j + 2]) * invIn;
      const cu = u0[x] + (u1[x] - u0[x]) * fy;
      const cv = v0[x] + (v1[x] - v0[x]) * fy;
      let dr = rv * cv;
      let dg = gu * cu + gv * cv;
      let db = bu * cu;
      let r = yv + dr;
      let g = yv + dg;
      let b = yv + db;
      if (r < 0 || r > 1 || g < 0 || g > 1 || b < 0 || b > 1) {
        // Out of gamut: the largest t in [0,1] keeping y + t*d inside [0,1] for every channel.
        let t = 1;
        if (dr > 0) t = Math.min(t, (1 - yv) / dr);
        else if (dr < 0) t = Math.min(t, -yv / dr);
        if (dg > 0) t = Math.min(t, (1 - yv) / dg);
        else if (dg < 0) t = Math.min(t, -yv / dg);
        if (db > 0) t = Math.min(t, (1 - yv) / db);
        else if (db < 0) t = Math.min(t, -yv / db);
        if (t < 0) t = 0;
        dr *= t;
        dg *= t;
        db *= t;
        r = yv + dr;
        g = yv + dg;
        b = yv + db;
      }
      // r, g, b lie in [0, 1] (to float rounding), so the +0.5 rounding never leaves the sample range.
      out[j] = r * outMax + 0.5;
      out[j + 1] = g * outMax + 0.5;
      out[j + 2] = b * outMax + 0.5;
    }
  }
  return { width, height, channels: 3, depth: outDepth, data: out };
}
