import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import type { Raster } from '../types';
import { errorMessage, VideoError } from '../errors';
import { decodeStrictly } from '../image/io';
import type { FrameLayout } from './pixels';
import type { Rational } from './rational';
import { fileIdentity, streamFrom, type FrameSource } from './source';

const IMAGE_EXTS = new Set(['.tif', '.tiff', '.png', '.jpg', '.jpeg', '.webp', '.bmp']);

/** `frame_%04d.tif` → a regular expression for its file names. */
function patternRegex(pattern: string): RegExp | undefined {
  const m = /%0?(\d*)d/.exec(pattern);
  if (!m) return undefined;
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^${esc(pattern.slice(0, m.index))}(\\d+)${esc(pattern.slice(m.index + m[0].length))}$`,
    'i',
  );
}

/** Is this input a numbered sequence (a folder of images or a %d pattern) rather than a single file? */
export async function isImageSequenceInput(input: string): Promise<boolean> {
  if (patternRegex(basename(input))) return true;
  try {
    return (await stat(input)).isDirectory();
  } catch {
    return false;
  }
}

export async function isTiffInput(input: string): Promise<boolean> {
  const ext = extname(input).toLowerCase();
  return ext === '.tif' || ext === '.tiff';
}

/** The files of a sequence in frame order (numbers compared as numbers: 2 before 10). */
export async function listSequence(input: string): Promise<string[]> {
  const re = patternRegex(basename(input));
  const dir = re ? dirname(input) : input;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new VideoError(
      `${input}: cannot list the image sequence (${errorMessage(err)})`,
      'INPUT_NOT_FOUND',
      input,
    );
  }
  const files = re
    ? names.filter((n) => re.test(n)).sort((a, b) => Number(re.exec(a)?.[1]) - Number(re.exec(b)?.[1]))
    : names
        .filter((n) => IMAGE_EXTS.has(extname(n).toLowerCase()))
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (files.length === 0)
    throw new VideoError(`${input}: no images found for the sequence`, 'INPUT_NOT_FOUND', input);
  return files.map((n) => join(dir, n));
}

async function layoutOfImage(file: string, page: number): Promise<FrameLayout> {
  let meta: Metadata;
  try {
    meta = await sharp(file, { page, limitInputPixels: false }).metadata();
  } catch (err) {
    throw new VideoError(`${file}: not a readable image (${errorMessage(err)})`, 'NOT_MEDIA', file);
  }
  if (!meta.width || !meta.height) throw new VideoError(`${file}: image has no size`, 'NOT_MEDIA', file);
  if (meta.depth === 'float' || meta.depth === 'double' || meta.depth === 'int' || meta.depth === 'uint') {
    throw new VideoError(
      `${file}: ${meta.depth} samples are not supported (use 8 or 16-bit images)`,
      'NOT_MEDIA',
      file,
    );
  }
  const colourChannels = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
  return {
    width: meta.width,
    height: meta.pageHeight && meta.pages && meta.pages > 1 ? meta.pageHeight : meta.height,
    channels: colourChannels <= 1 ? 1 : 3,
    depth: meta.depth === 'ushort' || meta.depth === 'short' ? 16 : 8,
  };
}

/** One page or file as a Raster in `layout`; any mismatch names the file and page. */
export async function readImageFrame(file: string, page: number, layout: FrameLayout): Promise<Raster> {
  const where = page > 0 ? `${file} (page ${page + 1})` : file;
  const meta = await sharp(file, { page, limitInputPixels: false })
    .metadata()
    .catch((err: unknown) => {
      throw new VideoError(`${where}: not a readable image (${errorMessage(err)})`, 'DECODE_FAILED', file);
    });
  const pipeline = (failOn: 'warning' | 'error') => {
    let img = sharp(file, { page, limitInputPixels: false, failOn });
    if (meta.hasAlpha) img = img.removeAlpha();
    if (layout.channels === 1) img = img.toColourspace(layout.depth === 16 ? 'grey16' : 'b-w');
    else
      img =
        layout.depth === 16
          ? img.pipelineColourspace('rgb16').toColourspace('rgb16')
          : img.toColourspace('srgb');
    return img.raw({ depth: layout.depth === 16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  };
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await decodeStrictly(meta.format, pipeline);
  } catch (err) {
    throw new VideoError(
      `${where}: image data is damaged or truncated (${errorMessage(err).split('\n')[0]})`,
      'DECODE_FAILED',
      file,
    );
  }
  if (
    out.info.width !== layout.width ||
    out.info.height !== layout.height ||
    out.info.channels !== layout.channels
  ) {
    throw new VideoError(
      `${where}: ${out.info.width}x${out.info.height}x${out.info.channels} differs from the first frame's ${layout.width}x${layout.height}x${layout.channels}; every frame of a stack needs the same size`,
      'DECODE_FAILED',
      file,
    );
  }
  // Copy into an aligned buffer the Raster owns (sharp's Buffer may be a slice of a pooled one).
  const bytes = new Uint8Array(out.data.byteLength);
  bytes.set(out.data);
  const data = layout.depth === 16 ? new Uint16Array(bytes.buffer) : bytes;
  return { width: layout.width, height: layout.height, channels: layout.channels, depth: layout.depth, data };
}

/** A multi-page TIFF (one page per frame) as a frame source. */
export async function openTiffStack(input: string, fps: Rational): Promise<FrameSource> {
  let pages: number;
  try {
    pages = (await sharp(input, { limitInputPixels: false }).metadata()).pages ?? 1;
  } catch (err) {
    throw new VideoError(`${input}: not a readable TIFF (${errorMessage(err)})`, 'NOT_MEDIA', input);
  }
  const layout = await layoutOfImage(input, 0);
  return {
    kind: 'tiff-stack',
    path: input,
    layout,
    fps,
    frameCount: pages,
    frameCountExact: true,
    rotationApplied: true,
    notes: [],
    identity: () => fileIdentity(input),
    async open(from, max) {
      const count = Math.max(0, Math.min(pages - from, max ?? Infinity));
      return streamFrom((i) => readImageFrame(input, i, layout), from, count);
    },
  };
}

/** A folder of numbered images, or a printf pattern such as frames/frame_%04d.tif. */
export async function openImageSequence(input: string, fps: Rational): Promise<FrameSource> {
  const files = await listSequence(input);
  const layout = await layoutOfImage(files[0], 0);
  return {
    kind: 'image-sequence',
    path: input,
    layout,
    fps,
    frameCount: files.length,
    frameCountExact: true,
    rotationApplied: true,
    notes: [],
    async identity() {
      let size = 0;
      let mtimeMs = 0;
      for (const f of files) {
        const s = await stat(f);
        size += s.size;
        mtimeMs = Math.max(mtimeMs, s.mtimeMs);
      }
      return { size, mtimeMs };
    },
    async open(from, max) {
      const count = Math.max(0, Math.min(files.length - from, max ?? Infinity));
      return streamFrom((i) => readImageFrame(files[i], 0, layout), from, count);
    },
  };
}
