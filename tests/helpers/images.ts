import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Raster } from '../../src/engine/types';

export function tempDir(prefix = 'tintype-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A grey image with structure everywhere (gradients + rings), so resizing and tiling are exercised. */
export function greyPattern(width: number, height: number, depth: 8 | 16 = 8): Raster {
  const max = depth === 16 ? 65535 : 255;
  const data = depth === 16 ? new Uint16Array(width * height) : new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = Math.hypot(x - width / 3, y - height / 2);
      const v = 0.5 + 0.25 * Math.sin(r / 3) + 0.2 * (x / width - 0.5) + 0.05 * Math.cos(y / 2);
      data[y * width + x] = Math.round(Math.min(1, Math.max(0, v)) * max);
    }
  }
  return { width, height, channels: 1, depth, data };
}

/** An RGB image with a sepia tone over the grey pattern. */
export function sepiaPattern(width: number, height: number): Raster {
  const g = greyPattern(width, height);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = g.data[i];
    data[i * 3] = Math.min(255, Math.round(v * 1.07 + 10));
    data[i * 3 + 1] = Math.round(v * 0.95);
    data[i * 3 + 2] = Math.round(v * 0.75);
  }
  return { width, height, channels: 3, depth: 8, data };
}

export async function saveRaster(
  path: string,
  r: Raster,
  format: 'png' | 'jpg' | 'tif' = 'png',
): Promise<string> {
  let img = sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels } });
  if (r.depth === 16) img = img.toColourspace(r.channels === 1 ? 'grey16' : 'rgb16');
  if (format === 'png') img = img.png();
  else if (format === 'jpg') img = img.jpeg({ quality: 95 });
  else img = img.tiff({ compression: 'deflate' });
  await img.toFile(path);
  return path;
}

/** Decoded RGB (8-bit) or raw samples of an output file, for assertions. */
export async function decode(
  path: string,
  depth: 8 | 16 = 8,
): Promise<{ data: Uint8Array | Uint16Array; width: number; height: number; channels: number }> {
  const img = sharp(path);
  const { data, info } =
    depth === 16
      ? await img.toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true })
      : await img.raw().toBuffer({ resolveWithObject: true });
  const samples =
    depth === 16
      ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
      : new Uint8Array(data);
  return { data: samples, width: info.width, height: info.height, channels: info.channels };
}

export function luma601(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}
