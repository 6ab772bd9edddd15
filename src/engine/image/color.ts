import type { Raster } from '../types';

/**
 * Colour maths for DeOldify's merge: keep the ORIGINAL luminance at full resolution and take only
 * the chroma from the (small, upscaled) prediction. YUV coefficients are BT.601, the ones OpenCV's
 * BGR2YUV uses in DeOldify's post-processing.
 */

export const KR = 0.299;
export const KG = 0.587;
export const KB = 0.114;
/** U = 0.492 (B - Y), V = 0.877 (R - Y) */
export const U_SCALE = 0.492;
export const V_SCALE = 0.877;

export function maxValue(depth: 8 | 16): number {
  return depth === 16 ? 65535 : 255;
}

/** BT.601 luma of a raster, 0..1, one float per pixel. */
export function lumaPlane(r: Raster): Float32Array {
  const n = r.width * r.height;
  const out = new Float32Array(n);
  const inv = 1 / maxValue(r.depth);
  const d = r.data;
  if (r.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = d[i] * inv;
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = (KR * d[j] + KG * d[j + 1] + KB * d[j + 2]) * inv;
  }
  return out;
}

/** Luma quantized to the raster's own depth (grey image the colorizer sees). */
export function lumaRaster(r: Raster): Raster {
  if (r.channels === 1) return r;
  const n = r.width * r.height;
  const out = r.depth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  const d = r.data;
  const max = maxValue(r.depth);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const y = KR * d[j] + KG * d[j + 1] + KB * d[j + 2];
    out[i] = y > max ? max : Math.round(y);
  }
  return { width: r.width, height: r.height, channels: 1, depth: r.depth, data: out };
}

/** U and V planes (BT.601 analog scaling) of an RGB prediction given as floats 0..1, interleaved. */
export function chromaFromRgb(rgb: Float32Array, n: number): { u: Float32Array; v: Float32Array } {
  const u = new Float32Array(n);
  const v = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = rgb[j];
    const g = rgb[j + 1];
    const b = rgb[j + 2];
    const y = KR * r + KG * g + KB * b;
    u[i] = U_SCALE * (b - y);
    v[i] = V_SCALE * (r - y);
  }
  return { u, v };
}

// --- CIE Lab (D65), for models that predict Lab a,b (DDColor) -------------------------------------

const XN = 0.95047;
const ZN = 1.08883;

function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}
function linearToSrgb(c: number): number {
  const v = c <= 0.0031308 ? 12.92 * c : 1.055 * Math.pow(c, 1 / 2.4) - 0.055;
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
function fLab(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116;
}
function fLabInv(t: number): number {
  const t3 = t * t * t;
  return t3 > 216 / 24389 ? t3 : (116 * t - 16) / (24389 / 27);
}

/** Lab L (0..100) of a neutral grey whose sRGB value is g (0..1). */
export function labLOfGrey(g: number): number {
  const y = srgbToLinear(g);
  return 116 * fLab(y) - 16;
}

/** Lab → sRGB 0..1 (clipped), written to out[o..o+2]. */
export function labToRgb(L: number, a: number, b: number, out: Float32Array, o: number): void {
  const fy = (L + 16) / 116;
  const fx = fy + a / 500;
  const fz = fy - b / 200;
  const x = XN * fLabInv(fx);
  const y = fLabInv(fy);
  const z = ZN * fLabInv(fz);
  const rl = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
  const gl = -0.969266 * x + 1.8760108 * y + 0.041556 * z;
  const bl = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
  out[o] = linearToSrgb(rl);
  out[o + 1] = linearToSrgb(gl);
  out[o + 2] = linearToSrgb(bl);
}

/**
 * Full-resolution merge: Y from the original, U,V from the upscaled prediction (interleaved 16-bit
 * samples U,V,unused with their scale, as resizePlanePair returns them). Where Y + chroma
 * would leave the RGB cube, the chroma is scaled down (never the luminance), so the output's luma
 * equals the original's up to rounding.
 */
export function mergeLumaChroma(
  original: Raster,
  chroma: { data: Uint16Array; lo: number; step: number },
  saturation: number,
  outDepth: 8 | 16,
): Raster {
  const { width, height } = original;
  const n = width * height;
  const inMax = maxValue(original.depth);
  const outMax = maxValue(outDepth);
  const out = outDepth === 16 ? new Uint16Array(n * 3) : new Uint8Array(n * 3);
  const d = original.data;
  const grey = original.channels === 1;
  const invIn = 1 / inMax;
  const { data: uv, lo, step } = chroma;
  // Per unit of U/V: R = Y + 1.13983 V, B = Y + 2.03211 U, G = Y - 0.39465 U - 0.58060 V.
  const rv = 1 / V_SCALE;
  const bu = 1 / U_SCALE;
  const gu = -(KB / KG) * bu;
  const gv = -(KR / KG) * rv;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const y = grey ? d[i] * invIn : (KR * d[j] + KG * d[j + 1] + KB * d[j + 2]) * invIn;
    const cu = (uv[j] * step + lo) * saturation;
    const cv = (uv[j + 1] * step + lo) * saturation;
    const dr = rv * cv;
    const dg = gu * cu + gv * cv;
    const db = bu * cu;
    // Largest t in [0,1] keeping y + t*d inside [0,1] for every channel.
    let t = 1;
    if (dr > 0) t = Math.min(t, (1 - y) / dr);
    else if (dr < 0) t = Math.min(t, -y / dr);
    if (dg > 0) t = Math.min(t, (1 - y) / dg);
    else if (dg < 0) t = Math.min(t, -y / dg);
    if (db > 0) t = Math.min(t, (1 - y) / db);
    else if (db < 0) t = Math.min(t, -y / db);
    if (t < 0) t = 0;
    const r = (y + t * dr) * outMax + 0.5;
    const g = (y + t * dg) * outMax + 0.5;
    const b = (y + t * db) * outMax + 0.5;
    out[j] = r < 0 ? 0 : r > outMax ? outMax : r;
    out[j + 1] = g < 0 ? 0 : g > outMax ? outMax : g;
    out[j + 2] = b < 0 ? 0 : b > outMax ? outMax : b;
  }
  return { width, height, channels: 3, depth: outDepth, data: out };
}
