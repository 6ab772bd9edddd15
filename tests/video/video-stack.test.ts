import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Raster } from '../../src/engine/types';
import { perWindow, renderVideo, VideoError, type FrameWindow } from '../../src/engine/video';
import { countFrames, ffprobeJson, invertProcessor, tempDir } from '../helpers/video-fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const W = 40;
const H = 30;

/** Frame k of a synthetic 16-bit stack: every sample is k * 1000 + (pixel index mod 997), far above 255. */
function stackFrame(k: number): Uint16Array {
  const d = new Uint16Array(W * H);
  for (let i = 0; i < d.length; i++) d[i] = k * 1000 + (i % 997);
  return d;
}

async function writeStack(path: string, pages: number): Promise<void> {
  const all = new Uint16Array(W * H * pages);
  for (let k = 0; k < pages; k++) all.set(stackFrame(k), k * W * H);
  await sharp(all, { raw: { width: W, height: H * pages, channels: 1, pageHeight: H } })
    .toColourspace('grey16')
    .tiff({ compression: 'deflate' })
    .toFile(path);
}

async function readPage(path: string, page: number): Promise<Uint16Array> {
  const b = await sharp(path, { page }).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
  return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
}

/** Which source frame a sample came from. */
const frameOf = (v: number): number => Math.floor(v / 1000);

/**
 * A 3-frame "model" that shows what it was given: the first three samples of its output name the
 * frames of its window (t-1, t, t+1); the rest is the centre frame unchanged.
 */
const revealWindow = (calls: number[]) =>
  perWindow(async (w: FrameWindow): Promise<Raster> => {
    calls.push(w.index);
    const [a, b, c] = w.frames;
    const data = new Uint16Array(b.data);
    data[0] = a.data[5];
    data[1] = b.data[5];
    data[2] = c.data[5];
    return { ...b, data };
  });

describe('microscopy stacks', () => {
  it('16-bit multi-page TIFF in and out, exact, with t-1/t/t+1 windows and repeated edge frames', async () => {
    const input = join(dir, 'stack16.tif');
    await writeStack(input, 9);
    const out = join(dir, 'stack16-out.tif');
    const calls: number[] = [];
    const r = await renderVideo({
      input,
      output: out,
      processor: revealWindow(calls),
      processorKey: 'reveal',
      segmentFrames: 4,
    });
    expect(r.frames).toBe(9);
    expect(r.segments).toBe(3);
    expect(calls).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const meta = await sharp(out).metadata();
    expect([meta.pages, meta.width, meta.depth, meta.channels]).toEqual([9, W, 'ushort', 1]);
    for (let k = 0; k < 9; k++) {
      const page = await readPage(out, k);
      expect([frameOf(page[0]), frameOf(page[1]), frameOf(page[2])]).toEqual([
        Math.max(0, k - 1),
        k,
        Math.min(8, k + 1),
      ]);
      const want = stackFrame(k);
      expect(page.subarray(3).every((v, i) => v === want[i + 3])).toBe(true);
    }
  });

  it('a resumed 3-frame render gets the real frame before the resume point, not a repeated edge', async () => {
    const input = join(dir, 'stack-resume.tif');
    await writeStack(input, 10);
    const out = join(dir, 'stack-resume-out.tif');
    const ac = new AbortController();
    const first: number[] = [];
    const err = (await renderVideo({
      input,
      output: out,
      processor: revealWindow(first),
      processorKey: 'reveal',
      segmentFrames: 4,
      batchSize: 1,
      inFlightBatches: 1,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.segmentsDone >= 1) ac.abort();
      },
    }).catch((e: unknown) => e)) as VideoError;
    expect(err.code).toBe('CANCELLED');
    expect(err.progress?.segmentsKept).toBe(1);
    const second: number[] = [];
    const r = await renderVideo({
      input,
      output: out,
      processor: revealWindow(second),
      processorKey: 'reveal',
      segmentFrames: 4,
      resume: true,
    });
    expect(r.resumedFromFrame).toBe(4);
    expect(second).toEqual([4, 5, 6, 7, 8, 9]);
    const page4 = await readPage(out, 4);
    expect([frameOf(page4[0]), frameOf(page4[1]), frameOf(page4[2])]).toEqual([3, 4, 5]);
    const page9 = await readPage(out, 9);
    expect([frameOf(page9[0]), frameOf(page9[1]), frameOf(page9[2])]).toEqual([8, 9, 9]);
  });

  it('a preview of a stack uses the real neighbours at both ends of the range', async () => {
    const input = join(dir, 'stack-preview.tif');
    await writeStack(input, 10);
    const out = join(dir, 'preview.tif');
    const r = await renderVideo({
      input,
      output: out,
      processor: revealWindow([]),
      processorKey: 'reveal',
      fps: 10,
      start: 0.3,
      duration: 0.4,
    });
    expect(r.frames).toBe(4);
    const firstPage = await readPage(out, 0);
    const lastPage = await readPage(out, 3);
    expect([frameOf(firstPage[0]), frameOf(firstPage[1]), frameOf(firstPage[2])]).toEqual([2, 3, 4]);
    expect([frameOf(lastPage[0]), frameOf(lastPage[1]), frameOf(lastPage[2])]).toEqual([5, 6, 7]);
  });

  it('a numbered 8-bit sequence becomes an MP4 at the chosen frame rate', async () => {
    const seqDir = join(dir, 'seq');
    await mkdir(seqDir, { recursive: true });
    for (let k = 1; k <= 12; k++) {
      const d = new Uint8Array(64 * 48).fill(k * 20);
      await sharp(d, { raw: { width: 64, height: 48, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(join(seqDir, `frame_${String(k).padStart(4, '0')}.png`));
    }
    await writeFile(join(seqDir, 'notes.txt'), 'not an image');
    const out = join(dir, 'seq.mp4');
    const seen: Raster[] = [];
    const r = await renderVideo({
      input: join(seqDir, 'frame_%04d.png'),
      output: out,
      processor: invertProcessor(seen),
      processorKey: 'invert',
      fps: 10,
      preset: 'ultrafast',
    });
    expect(r.frames).toBe(12);
    expect(seen.map((f) => [f.channels, f.depth, f.data[0]])).toEqual(
      Array.from({ length: 12 }, (_v, i) => [1, 8, (i + 1) * 20]),
    );
    const v = (await ffprobeJson(out)).streams[0];
    expect(v.r_frame_rate).toBe('10/1');
    expect(await countFrames(out)).toBe(12);
    // The same folder given as a folder reads the same frames in numeric order.
    const seen2: Raster[] = [];
    await renderVideo({
      input: seqDir,
      output: join(dir, 'seq2.mkv'),
      processor: invertProcessor(seen2),
      processorKey: 'invert',
    });
    expect(seen2.map((f) => f.data[0])).toEqual(seen.map((f) => f.data[0]));
  });

  it('16-bit RGB frames survive as a 16-bit RGB multi-page TIFF and a 16-bit TIFF sequence', async () => {
    const seqDir = join(dir, 'rgb16');
    await mkdir(seqDir, { recursive: true });
    for (let k = 0; k < 3; k++) {
      const d = new Uint16Array(8 * 6 * 3);
      for (let i = 0; i < d.length; i++) d[i] = 20000 + k * 1000 + i * 7;
      await sharp(d, { raw: { width: 8, height: 6, channels: 3 } })
        .pipelineColourspace('rgb16')
        .toColourspace('rgb16')
        .png()
        .toFile(join(seqDir, `f${k}.png`));
    }
    const out = join(dir, 'rgb16-stack.tif');
    await renderVideo({ input: seqDir, output: out, processor: invertProcessor(), processorKey: 'invert' });
    const m = await sharp(out).metadata();
    expect([m.pages, m.depth, m.channels]).toEqual([3, 'ushort', 3]);
    const p2 = await sharp(out, { page: 2 })
      .pipelineColourspace('rgb16')
      .toColourspace('rgb16')
      .raw({ depth: 'ushort' })
      .toBuffer();
    const px = new Uint16Array(p2.buffer, p2.byteOffset, p2.byteLength / 2);
    expect([px[0], px[1], px[143]]).toEqual([65535 - 22000, 65535 - 22007, 65535 - (22000 + 143 * 7)]);

    const tifDir = join(dir, 'rgb16-tifs');
    await renderVideo({
      input: seqDir,
      output: tifDir,
      format: 'tif',
      processor: invertProcessor(),
      processorKey: 'invert',
    });
    const t = await sharp(join(tifDir, 'frame_000002.tif')).metadata();
    expect([t.depth, t.channels]).toEqual(['ushort', 3]);
  });

  it('a frame of a different size in a sequence is named in the error', async () => {
    const seqDir = join(dir, 'mixed');
    await mkdir(seqDir, { recursive: true });
    for (let k = 1; k <= 3; k++) {
      const w = k === 3 ? 50 : 40;
      await sharp(new Uint8Array(w * 30).fill(9), { raw: { width: w, height: 30, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(join(seqDir, `img${k}.png`));
    }
    const err = (await renderVideo({
      input: seqDir,
      output: join(dir, 'mixed.tif'),
      processor: invertProcessor(),
      processorKey: 'i',
    }).catch((e: unknown) => e)) as VideoError;
    expect(err).toBeInstanceOf(VideoError);
    expect(err.message).toContain(join(seqDir, 'img3.png'));
    expect(err.message).toMatch(/50x30x1 differs from the first frame's 40x30x1/);
  });
});
