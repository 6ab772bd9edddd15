import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { FileJob, FileResult, ProgressEvent } from '../../src/engine/types';
import type { ModelCatalog, RenderEngine } from '../../src/library/engine';
import type { ModelInfo } from '../../src/shared/api';
import { FFMPEG, ffmpegBins } from './ffmpeg';

/**
 * Test-only stand-ins and fixtures for the library tests. The processor does real image work with
 * sharp (so outputs are real files with real pixels) but none of the engine's model work.
 */

export function sharpProcessor(
  opts: { delayMs?: number; calls?: string[] } = {},
): RenderEngine & { closed: boolean } {
  const engine = {
    closed: false,
    async processFile(
      job: FileJob,
      onProgress?: (e: ProgressEvent) => void,
      signal?: AbortSignal,
    ): Promise<FileResult> {
      opts.calls?.push(job.input);
      const t0 = Date.now();
      onProgress?.({ fraction: 0.1, stage: 'reading' });
      // Like the engine, an abort ends the wait at once (the engine stops at its next tile).
      if (opts.delayMs)
        await new Promise<void>((r) => {
          const t = setTimeout(r, opts.delayMs);
          signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
        });
      if (signal?.aborted)
        return {
          input: job.input,
          output: job.output,
          ok: false,
          cancelled: true,
          error: `${job.input}: cancelled`,
          ops: job.ops,
          models: [],
        };
      try {
        let img = sharp(job.input, { failOn: 'warning' });
        const meta = await img.metadata();
        if (job.ops.includes('restore')) img = img.median(3);
        if (job.ops.includes('colorize')) img = img.tint({ r: 200, g: 150, b: 100 });
        if (job.ops.includes('upscale')) {
          const s = job.options.scale ?? 2;
          img = img.resize((meta.width ?? 1) * s, (meta.height ?? 1) * s);
        }
        onProgress?.({ fraction: 0.6, stage: 'writing' });
        const tmp = `${job.output}.tmp-${process.pid}`;
        const out = job.format === 'jpg' ? img.jpeg() : img.png();
        const info = await out.toFile(tmp);
        await rename(tmp, job.output);
        onProgress?.({ fraction: 1, stage: 'done' });
        return {
          input: job.input,
          output: job.output,
          ok: true,
          ops: job.ops,
          models: job.ops.map((op) => `test-${op}`),
          width: info.width,
          height: info.height,
          ms: Date.now() - t0,
          inferenceMs: 0,
        };
      } catch (err) {
        await rm(`${job.output}.tmp-${process.pid}`, { force: true });
        return {
          input: job.input,
          output: job.output,
          ok: false,
          error: `${job.input}: ${(err as Error).message}`,
          ops: job.ops,
          models: [],
        };
      }
    },
    async close() {
      engine.closed = true;
    },
  };
  return engine;
}

export const testCatalog: ModelCatalog = {
  async list(): Promise<ModelInfo[]> {
    return [
      {
        id: 'test-colorize',
        name: 'Test colorizer',
        version: '1.0.0',
        task: 'colorize',
        scale: 1,
        scales: [1],
        renderSize: { default: 288, min: 224, max: 360 },
        summary: null,
        description: null,
        license: 'MIT',
      },
      {
        id: 'test-restore',
        name: 'Test restorer',
        version: '2.1.0',
        task: 'restore',
        scale: 1,
        scales: [1],
        renderSize: null,
        summary: null,
        description: null,
        license: 'MIT',
      },
    ];
  },
};

/** A photo-like picture: a gradient with some structure, so resizes and filters change real pixels. */
export async function writePhoto(path: string, w: number, h: number, seed = 1, grey = false): Promise<void> {
  const ch = grey ? 1 : 3;
  const data = Buffer.alloc(w * h * ch);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < ch; c++)
        data[(y * w + x) * ch + c] = (x * 7 + y * 5 + c * 60 + seed * 31 + ((x * y * seed) % 23)) & 255;
  const img = sharp(data, { raw: { width: w, height: h, channels: ch } });
  await (path.endsWith('.png') ? img.png() : img.jpeg({ quality: 90 })).toFile(path);
}

/**
 * A minimal uncompressed multi-page 16-bit greyscale TIFF (a microscopy-style stack); `value` gives
 * the 16-bit sample at (x, y) of frame `p` (a shifting ramp by default).
 */
export function writeStack16(
  path: string,
  w: number,
  h: number,
  pages: number,
  value: (x: number, y: number, p: number) => number = (x, y, p) => ((y * w + x) * 97 + p * 4000) % 12000,
): void {
  const entries = 10;
  const ifdSize = 2 + entries * 12 + 4;
  const pixelBytes = w * h * 2;
  const pageSize = ifdSize + pixelBytes;
  const buf = Buffer.alloc(8 + pages * pageSize);
  buf.write('II', 0, 'ascii');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  for (let p = 0; p < pages; p++) {
    const ifd = 8 + p * pageSize;
    const pixels = ifd + ifdSize;
    let o = ifd;
    buf.writeUInt16LE(entries, o);
    o += 2;
    const tag = (id: number, type: number, value: number) => {
      buf.writeUInt16LE(id, o);
      buf.writeUInt16LE(type, o + 2);
      buf.writeUInt32LE(1, o + 4);
      if (type === 3) buf.writeUInt16LE(value, o + 8);
      else buf.writeUInt32LE(value, o + 8);
      o += 12;
    };
    tag(256, 4, w); // ImageWidth
    tag(257, 4, h); // ImageLength
    tag(258, 3, 16); // BitsPerSample
    tag(259, 3, 1); // Compression: none
    tag(262, 3, 1); // Photometric: black is zero
    tag(273, 4, pixels); // StripOffsets
    tag(277, 3, 1); // SamplesPerPixel
    tag(278, 4, h); // RowsPerStrip
    tag(279, 4, pixelBytes); // StripByteCounts
    tag(284, 3, 1); // PlanarConfiguration
    buf.writeUInt32LE(p === pages - 1 ? 0 : ifd + pageSize, o);
    for (let i = 0; i < w * h; i++) buf.writeUInt16LE(value(i % w, Math.floor(i / w), p), pixels + i * 2);
  }
  writeFileSync(path, buf);
}

export function haveFfmpeg(): boolean {
  return FFMPEG !== null;
}

export function writeVideo(path: string): void {
  execFileSync(ffmpegBins().ffmpeg, [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=64x48:rate=5',
    '-t',
    '1',
    '-pix_fmt',
    'yuv420p',
    '-y',
    path,
  ]);
}

/**
 * A folder the way a user has one: photos in nested folders, a 16-bit stack, a video, a JPEG cut off
 * halfway (a damaged download) and a text file that is not media.
 */
export async function makeFolder(
  root: string,
  opts: { video?: boolean } = {},
): Promise<{ photos: string[]; stack: string; video: string | null; corrupt: string; text: string }> {
  mkdirSync(join(root, 'album', '1952 wedding'), { recursive: true });
  const photos = [
    join(root, 'album', 'portrait.jpg'),
    join(root, 'album', '1952 wedding', 'wedding-01.png'),
    join(root, 'album', '1952 wedding', 'wedding-02.jpg'),
  ];
  await writePhoto(photos[0], 48, 64, 1, true);
  await writePhoto(photos[1], 64, 48, 2);
  await writePhoto(photos[2], 60, 40, 3, true);
  const stack = join(root, 'album', 'cells.tif');
  writeStack16(stack, 24, 20, 3);
  let video: string | null = null;
  if (opts.video !== false && haveFfmpeg()) {
    video = join(root, 'album', 'home-movie.mp4');
    writeVideo(video);
  }
  const good = await sharp(photos[0]).jpeg().toBuffer();
  const corrupt = join(root, 'album', 'damaged.jpg');
  writeFileSync(corrupt, good.subarray(0, Math.floor(good.length * 0.55)));
  const text = join(root, 'album', 'notes.txt');
  writeFileSync(text, 'not a picture');
  return { photos, stack, video, corrupt, text };
}
