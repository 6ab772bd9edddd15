import sharp from 'sharp';

// libvips' operation cache keeps recent inputs alive; every engine call has new pixels, so over a
// film it only grows memory (measured: ~1 GB more after 240 1080p frames).
sharp.cache(false);
import type { Raster } from '../types';

export type Kernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

function asTyped(buf: Buffer, depth: 8 | 16): Uint8Array | Uint16Array {
  if (depth === 8) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Uint16Array(buf.byteLength / 2);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** Resizes a raster to exactly width×height (aspect not kept), with sharp. */
export async function resizeRaster(
  r: Raster,
  width: number,
  height: number,
  kernel: Kernel = 'lanczos3',
): Promise<Raster> {
  if (r.width === width && r.height === height) return r;
  let img = sharp(r.data, {
    raw: { width: r.width, height: r.height, channels: r.channels },
    limitInputPixels: false,
  }).resize(width, height, { fit: 'fill', kernel });
  if (r.depth === 16) img = img.toColourspace(r.channels === 1 ? 'grey16' : 'rgb16');
  else if (r.channels === 1) img = img.toColourspace('b-w');
  const { data, info } = await img
    .raw({ depth: r.depth === 16 ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== r.channels)
    throw new Error(`resize: expected ${r.channels} channels, got ${info.channels}`);
  return { width, height, channels: r.channels, depth: r.depth, data: asTyped(data, r.depth) };
}

/**
 * Resizes a float plane whose values lie in [lo, hi], through 16-bit samples (sharp has no float
 * raw input). 1/65535 of the range is far below what 8- or 16-bit output can show for chroma.
 */
export async function resizePlane(
  plane: Float32Array,
  width: number,
  height: number,
  toWidth: number,
  toHeight: number,
  lo: number,
  hi: number,
  kernel: Kernel = 'cubic',
): Promise<Float32Array> {
  const n = width * height;
  const q = new Uint16Array(n);
  const k = 65535 / (hi - lo);
  for (let i = 0; i < n; i++) {
    const v = (plane[i] - lo) * k + 0.5;
    q[i] = v < 0 ? 0 : v > 65535 ? 65535 : v;
  }
  const r = await resizeRaster({ width, height, channels: 1, depth: 16, data: q }, toWidth, toHeight, kernel);
  const m = toWidth * toHeight;
  const out = new Float32Array(m);
  const inv = (hi - lo) / 65535;
  for (let i = 0; i < m; i++) out[i] = r.data[i] * inv + lo;
  return out;
}

/**
 * The BT.601 luma of a raster, resized to width×height, in one libvips pass (multi-threaded, no
 * full-resolution grey copy in JS). Used for the colorizer's small greyscale render.
 */
export async function lumaResized(
  r: Raster,
  width: number,
  height: number,
  kernel: Kernel = 'cubic',
): Promise<Raster> {
  let img = sharp(r.data, {
    raw: { width: r.width, height: r.height, channels: r.channels },
    limitInputPixels: false,
  });
  if (r.channels === 3) {
    img = img.recomb([
      [0.299, 0.587, 0.114],
      [0.299, 0.587, 0.114],
      [0.299, 0.587, 0.114],
    ]);
  }
  // Materialise the grey band first so the resize below runs on one channel.
  const grey = await img
    .extractChannel(0)
    .toColourspace(r.depth === 16 ? 'grey16' : 'b-w')
    .raw({ depth: r.depth === 16 ? 'ushort' : 'uchar' })
    .toBuffer();
  return resizeRaster(
    { width: r.width, height: r.height, channels: 1, depth: r.depth, data: asTyped(grey, r.depth) },
    width,
    height,
    kernel,
  );
}

/**
 * Two float planes in [lo, hi] resized together, returned as interleaved 16-bit samples
 * (plane a, plane b, unused) with their scale, so a caller can read them without float copies.
 */
export async function resizePlanePair(
  a: Float32Array,
  b: Float32Array,
  width: number,
  height: number,
  toWidth: number,
  toHeight: number,
  lo: number,
  hi: number,
  kernel: Kernel = 'cubic',
): Promise<{ data: Uint16Array; lo: number; step: number }> {
  const n = width * height;
  const q = new Uint16Array(n * 3);
  const k = 65535 / (hi - lo);
  for (let i = 0; i < n; i++) {
    const va = (a[i] - lo) * k + 0.5;
    const vb = (b[i] - lo) * k + 0.5;
    q[i * 3] = va < 0 ? 0 : va > 65535 ? 65535 : va;
    q[i * 3 + 1] = vb < 0 ? 0 : vb > 65535 ? 65535 : vb;
  }
  const r = await resizeRaster({ width, height, channels: 3, depth: 16, data: q }, toWidth, toHeight, kernel);
  return { data: r.data as Uint16Array, lo, step: (hi - lo) / 65535 };
}
