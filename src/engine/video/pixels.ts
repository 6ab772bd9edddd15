import { endianness } from 'node:os';
import type { Raster } from '../types';

/** 16-bit samples cross the pipe in the host's byte order so a Uint16Array can view them without swapping. */
const LE = endianness() === 'LE';

export interface FrameLayout {
  width: number;
  height: number;
  channels: 1 | 3;
  depth: 8 | 16;
}

export function rawPixFmt(l: Pick<FrameLayout, 'channels' | 'depth'>): string {
  if (l.channels === 1) return l.depth === 16 ? (LE ? 'gray16le' : 'gray16be') : 'gray';
  return l.depth === 16 ? (LE ? 'rgb48le' : 'rgb48be') : 'rgb24';
}

export function frameBytes(l: FrameLayout): number {
  return l.width * l.height * l.channels * (l.depth / 8);
}

export function layoutOf(r: Raster): FrameLayout {
  return { width: r.width, height: r.height, channels: r.channels, depth: r.depth };
}

export function sameLayout(a: FrameLayout, b: FrameLayout): boolean {
  return a.width === b.width && a.height === b.height && a.channels === b.channels && a.depth === b.depth;
}

export function describeLayout(l: FrameLayout): string {
  return `${l.width}x${l.height} ${l.channels === 1 ? 'grey' : 'RGB'} ${l.depth}-bit`;
}

/** A Raster over a freshly allocated, aligned buffer filled from the pipe. */
export function rasterFromBytes(bytes: Uint8Array, l: FrameLayout): Raster {
  const data = l.depth === 16 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : bytes;
  return { width: l.width, height: l.height, channels: l.channels, depth: l.depth, data };
}

export function bytesOf(r: Raster): Uint8Array {
  return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
}

export function checkRaster(r: Raster, what: string): void {
  const expected = r.width * r.height * r.channels;
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
