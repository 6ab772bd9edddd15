import sharp from 'sharp';

// libvips' operation cache keeps recent inputs alive; every engine call has new pixels, so over a
// film it only grows memory (measured: ~1 GB more after 240 1080p frames).
sharp.cache(false);
import type { Raster } from '../types';

export type Kernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

function asTyped(buf: Buffer, depth: 8 | 16): Uint8Array | Uint16Array {
  if (depth === 8) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteOffset % 2 === 0) return new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
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
