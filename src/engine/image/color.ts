import type { Raster, YuvMatrixName } from '../types';
import { runMergeKernel, runYuvChromaKernel } from './merge-kernel';

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

/** The same from planar R, G, B planes of n values each (a model's NCHW output). */
export function chromaFromRgbPlanes(rgb: Float32Array, n: number): { u: Float32Array; v: Float32Array } {
  const u = new Float32Array(n);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rgb[i];
    const g = rgb[n + i];
    const b = rgb[2 * n + i];
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

/** Source index pairs and weights for bilinear sampling along one axis (pixel centres aligned). */
export function bilinearAxis(from: number, to: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(to);
  const i1 = new Int32Array(to);
  const f = new Float32Array(to);
  const k = from / to;
  for (let x = 0; x < to; x++) {
    let sx = (x + 0.5) * k - 0.5;
    if (sx < 0) sx = 0;
    if (sx > from - 1) sx = from - 1;
    const a = Math.floor(sx);
    i0[x] = a;
    i1[x] = Math.min(a + 1, from - 1);
    f[x] = sx - a;
  }
  return { i0, i1, f };
}

/** Samples the merge may overwrite with its output (see mergeMayOverwrite). */
const overwritable = new WeakSet<object>();
/** Buffers the merge wrote, and those of them handed back once encoded (mergeOutputDone). */
const merged = new WeakSet<object>();
const spare: (Uint8Array | Uint16Array)[] = [];
/** Spare buffers are dropped this long after the last one came back (a batch has ended). */
const SPARE_MS = 2000;
let dropSpare: ReturnType<typeof setTimeout> | undefined;

/**
 * Hands back the pixels of a merge's output once nothing reads them (Engine.processFile, after
 * encoding): the next merge of the same size writes into them instead of a fresh buffer, whose
 * page faults cost ~25 ms of CPU at 12 MP (a batch of grey photos, whose RGB output cannot take
 * their place). At most two are kept, and none for long. Buffers the merge did not write are
 * ignored.
 */
export function mergeOutputDone(r: Raster): void {
  if (!merged.delete(r.data)) return;
  if (spare.length < 2) spare.push(r.data);
  clearTimeout(dropSpare);
  dropSpare = setTimeout(() => (spare.length = 0), SPARE_MS);
  dropSpare.unref?.();
}

function outputBuffer(samples: number, depth: 8 | 16): Uint8Array | Uint16Array {
  const i = spare.findIndex((b) => b.length === samples && b instanceof Uint16Array === (depth === 16));
  if (i >= 0) return spare.splice(i, 1)[0];
  return depth === 16 ? new Uint16Array(samples) : new Uint8Array(samples);
}

/**
 * Lets the next mergeLumaChroma of this raster write its output over the raster's own samples
 * when the sizes allow (RGB in, RGB out at the same depth), instead of a new full-size buffer:
 * for a photo decoded only to be colorized and written (Engine.processFile), nothing reads the
 * original samples after the merge. At 12 MP that is 36 MB less memory and ~25 ms less CPU (the
 * page faults of a fresh buffer). Once per mark: the merge clears it.
 */
export function mergeMayOverwrite(r: Raster): void {
  overwritable.add(r.data);
}

/**
 * Full-resolution merge: Y from the original, U,V from the small prediction (cw×ch planes),
 * upsampled bilinearly on the fly so no full-size chroma planes are ever allocated (chroma from a
 * 224–360 px render is smooth; a cubic kernel adds nothing visible). Where Y + chroma would leave
 * the RGB cube, the chroma is scaled down (never the luminance), so the output's luma equals the
 * original's up to rounding.
 *
 * The per-pixel work runs in WebAssembly SIMD (native/merge.ts through merge-kernel.ts): libvips
 * (through sharp) has no per-pixel division or minimum between images, which the gamut-safe scaling
 * needs, and an ONNX graph of it was slower on the CPU than even the JavaScript loop. Rows
 * [y0, y1) only when `band` is given, so callers can split an image into bands.
 */
export function mergeLumaChroma(
  original: Raster,
  u: Float32Array,
  v: Float32Array,
  cw: number,
  ch: number,
  saturation: number,
  outDepth: 8 | 16,
  band?: { y0: number; y1: number; out: Uint8Array | Uint16Array },
): Raster {
  const { width, height } = original;
  const S = maxValue(outDepth);
  // An RGB photo nothing reads after its merge takes the output over its own samples: same
  // size, and the kernel has read each band of rows before it writes it.
  const inPlace =
    !band &&
    original.channels === 3 &&
    !original.planar &&
    original.depth === outDepth &&
    original.data.length === width * height * 3 &&
    overwritable.delete(original.data);
  const out = band?.out ?? (inPlace ? original.data : outputBuffer(width * height * 3, outDepth));
  if (!band) merged.add(out);
  if (u.length < cw * ch || v.length < cw * ch)
    throw new Error(`internal: chroma planes shorter than ${cw}×${ch}`);
  // Per unit of U/V: R = Y + 1.13983 V, B = Y + 2.03211 U, G = Y - 0.39465 U - 0.58060 V.
  const rv = (S * saturation) / V_SCALE;
  const bu = (S * saturation) / U_SCALE;
  runMergeKernel({
    width,
    height,
    y0: band?.y0 ?? 0,
    y1: band?.y1 ?? height,
    data: original.data,
    channels: original.channels,
    kIn: S / maxValue(original.depth),
    out,
    u,
    v,
    cw,
    ax: bilinearAxis(cw, width),
    ay: bilinearAxis(ch, height),
    rv,
    gu: -(KB / KG) * bu,
    gv: -(KR / KG) * rv,
    bu,
  });
  return { width, height, channels: 3, depth: outDepth, data: out };
}

/**
 * Bilinear resize of one channel with pixel centres aligned. sharp 0.35 enlarges with corners
 * aligned, which shifts an upscaled plane by half an output pixel against the model's output.
 */
export function resizeChannelBilinear(
  src: Uint8Array | Uint16Array,
  width: number,
  height: number,
  toWidth: number,
  toHeight: number,
): Uint8Array | Uint16Array {
  const out =
    src instanceof Uint16Array ? new Uint16Array(toWidth * toHeight) : new Uint8Array(toWidth * toHeight);
  const ax = bilinearAxis(width, toWidth);
  const ay = bilinearAxis(height, toHeight);
  for (let y = 0; y < toHeight; y++) {
    const r0 = ay.i0[y] * width;
    const r1 = ay.i1[y] * width;
    const fy = ay.f[y];
    for (let x = 0; x < toWidth; x++) {
      const a = src[r0 + ax.i0[x]] + (src[r0 + ax.i1[x]] - src[r0 + ax.i0[x]]) * ax.f[x];
      const b = src[r1 + ax.i0[x]] + (src[r1 + ax.i1[x]] - src[r1 + ax.i0[x]]) * ax.f[x];
      out[y * toWidth + x] = a + (b - a) * fy + 0.5;
    }
  }
  return out;
}

// --- Film frames in YUV 4:2:0 ----------------------------------------------------------------------

/** Luma weights (Kr, Kb) of the Y'CbCr matrices a video can be tagged with (names as swscale's). */
export const YUV_MATRICES = {
  bt601: [0.299, 0.114],
  bt709: [0.2126, 0.0722],
  bt2020: [0.2627, 0.0593],
  smpte240m: [0.212, 0.087],
  fcc: [0.3, 0.11],
} as const satisfies Record<YuvMatrixName, readonly [number, number]>;

/** How 8-bit Y and Cb/Cr codes map to 0..1 luma and −0.5..0.5 chroma: limited ('tv') or full ('pc'). */
export function yuvRange(range: 'tv' | 'pc'): { y0: number; ys: number; cs: number } {
  return range === 'tv' ? { y0: 16, ys: 219, cs: 224 } : { y0: 0, ys: 255, cs: 255 };
}

/**
 * The film version of the merge, for frames that stay in YUV 4:2:0: the luma plane is kept as it
 * is (exactly: no RGB round trip) and only the chroma planes are made, at chroma resolution, from
 * the prediction's U,V (BT.601 analog, cw×ch, as for photos) turned into the frame's own matrix
 * and range. Gamut-safe like mergeLumaChroma: each chroma sample is scaled down just enough that
 * none of the 2×2 luma pixels it colours leaves the RGB cube (using their darkest and brightest).
 * The per-sample work runs in WebAssembly SIMD, as the photo merge (merge-kernel.ts).
 */
export function chromaForYuv420(
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
  if (width % 2 || height % 2 || luma.length < width * height)
    throw new Error(`internal: a ${width}×${height} 4:2:0 frame needs an even size and its whole luma plane`);
  if (u.length < cw * ch || v.length < cw * ch)
    throw new Error(`internal: chroma planes shorter than ${cw}×${ch}`);
  const [kr, kb] = YUV_MATRICES[matrix];
  const { y0, ys, cs } = yuvRange(range);
  return runYuvChromaKernel({
    width,
    height,
    luma,
    u,
    v,
    cw,
    ax: bilinearAxis(cw, width >> 1),
    ay: bilinearAxis(ch, height >> 1),
    // Colour differences per unit of U/V, then Cb/Cr codes per unit of colour difference.
    bu: saturation / U_SCALE,
    rv: saturation / V_SCALE,
    kr,
    kb,
    cbK: cs / (2 * (1 - kb)),
    crK: cs / (2 * (1 - kr)),
    yOff: y0,
    invYs: 1 / ys,
  });
}
