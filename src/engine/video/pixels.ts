import { endianness } from 'node:os';
import type { ChromaPlanes, Raster } from '../types';

/** 16-bit samples cross the pipe in the host's byte order so a Uint16Array can view them without swapping. */
const LE = endianness() === 'LE';

export interface FrameLayout {
  width: number;
  height: number;
  channels: 1 | 3;
  depth: 8 | 16;
  /** Planar 8-bit YUV 4:2:0 (the colorize fast path): see Raster.planar. */
  planar?: 'yuv420p';
}

export function rawPixFmt(l: Pick<FrameLayout, 'channels' | 'depth' | 'planar'>): string {
  if (l.planar) return l.planar;
  if (l.channels === 1) return l.depth === 16 ? (LE ? 'gray16le' : 'gray16be') : 'gray';
  return l.depth === 16 ? (LE ? 'rgb48le' : 'rgb48be') : 'rgb24';
}

export function frameBytes(l: FrameLayout): number {
  if (l.planar) return l.width * l.height + 2 * (l.width / 2) * (l.height / 2);
  return l.width * l.height * l.channels * (l.depth / 8);
}

export function layoutOf(r: Raster): FrameLayout {
  const l: FrameLayout = { width: r.width, height: r.height, channels: r.channels, depth: r.depth };
  if (r.planar) l.planar = r.planar;
  return l;
}

export function sameLayout(a: FrameLayout, b: FrameLayout): boolean {
  return (
    a.width === b.width &&
    a.height === b.height &&
    a.channels === b.channels &&
    a.depth === b.depth &&
    a.planar === b.planar
  );
}

export function describeLayout(l: FrameLayout): string {
  return `${l.width}x${l.height} ${l.planar ? 'YUV 4:2:0' : l.channels === 1 ? 'grey' : 'RGB'} ${l.depth}-bit`;
}

/** A Raster over a freshly allocated, aligned buffer filled from the pipe. */
export function rasterFromBytes(bytes: Uint8Array, l: FrameLayout): Raster {
  const data = l.depth === 16 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : bytes;
  const r: Raster = { width: l.width, height: l.height, channels: l.channels, depth: l.depth, data };
  if (l.planar) r.planar = l.planar;
  return r;
}

/**
 * A 4:2:0 frame from a decoded frame (planar YUV, reused in place, or grey: its luma) and new
 * chroma planes for it.
 */
export function withChroma(f: Raster, p: ChromaPlanes): Raster {
  const n = f.width * f.height;
  const c = (f.width / 2) * (f.height / 2);
  if (p.u.length !== c || p.v.length !== c)
    throw new Error(
      `chroma planes of ${p.u.length}/${p.v.length} samples for a ${f.width}x${f.height} frame`,
    );
  let data = f.data as Uint8Array;
  if (!f.planar) {
    data = new Uint8Array(n + 2 * c);
    data.set(f.data.subarray(0, n));
  }
  data.set(p.u, n);
  data.set(p.v, n + c);
  return { width: f.width, height: f.height, channels: 3, depth: 8, data, planar: 'yuv420p' };
}

export function bytesOf(r: Raster): Uint8Array {
  return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
}

export function checkRaster(r: Raster, what: string): void {
  const expected = r?.planar ? frameBytes(layoutOf(r)) : r.width * r.height * r.channels;
  if (!r || r.data.length !== expected || (r.depth === 16) !== r.data instanceof Uint16Array) {
    throw new Error(
      `${what}: not a valid raster (${r?.width}x${r?.height}x${r?.channels}, ${r?.depth}-bit, ${r?.data?.length} samples)`,
    );
  }
}

/**
 * Exact depth change for image outputs: 8→16 is v × 257 (0→0, 255→65535), 16→8 rounds v / 257.
 * Done here rather than in swscale, whose 8→16 expansion is approximate (2 → 511, not 514).
 */
export function toDepth(r: Raster, depth: 8 | 16): Raster {
  if (r.depth === depth) return r;
  if (depth === 16) {
    const out = new Uint16Array(r.data.length);
    for (let i = 0; i < out.length; i++) out[i] = r.data[i] * 257;
    return { ...r, depth: 16, data: out };
  }
  const out = new Uint8Array(r.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(r.data[i] / 257);
  return { ...r, depth: 8, data: out };
}
