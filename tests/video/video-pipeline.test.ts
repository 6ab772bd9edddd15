import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Raster } from '../../src/engine/types';
import {
  ChromaSmoother,
  FlickerMeter,
  perFrame,
  renderVideo,
  ffmpegCapabilities,
  resolveFfmpeg,
  SlidingWindow,
} from '../../src/engine/video';
import { openDecoder } from '../../src/engine/video/decoder';
import { probeMedia } from '../../src/engine/video/probe';
import { decodeAll, makeClip, sleep, tempDir } from '../helpers/video-fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const grey = (v: number): Raster => ({ width: 1, height: 1, channels: 1, depth: 8, data: Uint8Array.of(v) });

describe('sliding window', () => {
  it('gives t-1, t, t+1 with the edge frame repeated at both ends', () => {
    const w = new SlidingWindow(0, 0, Infinity);
    const got = [...[10, 11, 12, 13].flatMap((v) => w.push(grey(v))), ...w.end()].map((x) => [
      x.index,
      ...x.frames.map((f) => f.data[0]),
    ]);
    expect(got).toEqual([
      [0, 10, 10, 11],
      [1, 10, 11, 12],
      [2, 11, 12, 13],
      [3, 12, 13, 13],
    ]);
  });

  it('uses frames outside the emitted range as neighbours only', () => {
    const w = new SlidingWindow(4, 5, 7); // frames 4..7 decoded, centres 5 and 6 wanted
    const got = [...[4, 5, 6, 7].flatMap((v) => w.push(grey(v))), ...w.end()].map((x) => [
      x.index,
      ...x.frames.map((f) => f.data[0]),
    ]);
    expect(got).toEqual([
      [5, 4, 5, 6],
      [6, 5, 6, 7],
    ]);
  });
});

describe('back-pressure', () => {
  it('pauses the decoder when the frame queue is full', async () => {
    const clip = await makeClip(join(dir, 'big.mp4'), { size: '320x240', seconds: 2 });
    const { ffmpeg, ffprobe } = await resolveFfmpeg();
    const media = await probeMedia(ffprobe, clip);
    const v = media.video!;
    const stream = openDecoder(
      {
        ffmpeg,
        input: clip,
        video: v,
        layout: { width: 320, height: 240, channels: 3, depth: 8 },
        autorotate: false,
        fps: v.fps,
        cfr: false,
        fpsModeOption: (await ffmpegCapabilities(ffmpeg)).fpsModeOption,
        fromFrame: 0,
        seek: 'trim',
        strict: true,
        queueFrames: 3,
      },
      media.startTime,
    );
    await sleep(1500); // ffmpeg could decode all 50 frames in this time if nothing held it back
    // 230 kB frames arrive in 64 kB chunks, so at most one frame beyond the queue can be complete.
    expect(stream.framesRead).toBeLessThanOrEqual(4);
    let n = 0;
    while (await stream.next()) n += 1;
    expect(n).toBe(50);
    await stream.close();
  });

  it('keeps the frames in flight bounded while a slow processor works', async () => {
    const clip = await makeClip(join(dir, 'slow.mkv'), { seconds: 2, video: ['-c:v', 'ffv1'] });
    let inside = 0;
    let most = 0;
    const slow = perFrame(async (f) => {
      inside += 1;
      most = Math.max(most, inside);
      await sleep(5);
      inside -= 1;
      return f;
    });
    await renderVideo({
      input: clip,
      output: join(dir, 'slow-out.mkv'),
      processor: slow,
      processorKey: 'id',
      batchSize: 2,
      inFlightBatches: 2,
    });
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThanOrEqual(2); // batches do overlap
  });
});

/** A still scene (static gradient) with a bright square moving right 3 px a frame. */
function scene(t: number, w = 64, h = 48): { frame: Raster; moving: (x: number, y: number) => boolean } {
  const data = new Uint8Array(w * h * 3);
  const sx = 4 + t * 3;
  const inSquare = (x: number, y: number): boolean => x >= sx && x < sx + 10 && y >= 18 && y < 28;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const sq = inSquare(x, y);
      data[i] = sq ? 230 : 60 + x;
      data[i + 1] = sq ? 200 : 90 + y;
      data[i + 2] = sq ? 40 : 120;
    }
  }
  return { frame: { width: w, height: h, channels: 3, depth: 8, data }, moving: inSquare };
}

/** Colorizer-style flicker: the same luma, but the chroma of the whole frame drifts by a few levels at random. */
function flicker(f: Raster, t: number): Raster {
  const data = new Uint8Array(f.data.length);
  const rnd = Math.sin(t * 12.9898) * 43758.5453;
  const dr = Math.round((rnd - Math.floor(rnd) - 0.5) * 16);
  for (let i = 0; i < data.length; i += 3) {
    const r = f.data[i] + dr;
    const b = f.data[i + 2] - dr;
    // Keep luma (0.299 r + 0.587 g + 0.114 b) nearly unchanged by moving green against red/blue.
    const g = f.data[i + 1] - Math.round((0.299 * dr - 0.114 * dr) / 0.587);
    data[i] = Math.max(0, Math.min(255, r));
    data[i + 1] = Math.max(0, Math.min(255, g));
    data[i + 2] = Math.max(0, Math.min(255, b));
  }
  return { ...f, data };
}

describe('flicker', () => {
  it('the metric is 0 for a still picture, counts chroma flicker, and ignores motion', () => {
    const still = new FlickerMeter();
    for (let t = 0; t < 5; t++) still.add(scene(0).frame);
    expect(still.stats.meanChromaChange).toBe(0);
    expect(still.stats.staticFraction).toBe(1);

    const moving = new FlickerMeter();
    for (let t = 0; t < 10; t++) moving.add(scene(t).frame);
    expect(moving.stats.meanChromaChange).toBe(0); // the square moves, but nothing static changes colour
    expect(moving.stats.staticFraction).toBeLessThan(1);

    const flick = new FlickerMeter();
    for (let t = 0; t < 10; t++) flick.add(flicker(scene(t).frame, t));
    expect(flick.stats.meanChromaChange).toBeGreaterThan(2);
  });

  it('temporal chroma smoothing cuts flicker without smearing the moving square', () => {
    const before = new FlickerMeter();
    const after = new FlickerMeter();
    const smoother = new ChromaSmoother();
    let worstAtMotion = 0;
    let errNoisy = 0;
    let errSmooth = 0;
    for (let t = 0; t < 12; t++) {
      const { frame: clean, moving } = scene(t);
      const prevMoving = scene(Math.max(0, t - 1)).moving;
      const noisy = flicker(clean, t);
      const smooth = smoother.apply(noisy);
      before.add(noisy);
      after.add(smooth);
      for (let y = 0; y < 48; y++) {
        for (let x = 0; x < 64; x++) {
          const i = (y * 64 + x) * 3;
          for (let c = 0; c < 3; c++) {
            // Where the picture changed (the square's leading and trailing edges) the output must be
            // the current frame: no colour dragged along from the previous one.
            if (t > 0 && moving(x, y) !== prevMoving(x, y))
              worstAtMotion = Math.max(worstAtMotion, Math.abs(smooth.data[i + c] - noisy.data[i + c]));
            errNoisy += Math.abs(noisy.data[i + c] - clean.data[i + c]);
            errSmooth += Math.abs(smooth.data[i + c] - clean.data[i + c]);
          }
        }
      }
      // Luma is never changed (up to rounding).
      const y0 = (d: ArrayLike<number>, i: number) => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      for (let i = 0; i < smooth.data.length; i += 3 * 97)
        expect(Math.abs(y0(smooth.data, i) - y0(noisy.data, i))).toBeLessThan(1.5);
    }
    expect(after.stats.meanChromaChange).toBeLessThan(before.stats.meanChromaChange * 0.6);
    expect(worstAtMotion).toBeLessThanOrEqual(1);
    // And the smoothed colours are closer to the flicker-free truth.
    expect(errSmooth).toBeLessThan(errNoisy * 0.8);
  });

  it('renderVideo reports the metric, and smoothing lowers it on a clip', async () => {
    const clip = await makeClip(join(dir, 'flicker-src.mkv'), {
      seconds: 1,
      video: ['-c:v', 'ffv1', '-pix_fmt', 'gbrp'],
    });
    let t = 0;
    const jitter = () => {
      t = 0;
      return perFrame(async (f) => flicker(f, t++));
    };
    const plain = await renderVideo({
      input: clip,
      output: join(dir, 'f-plain.mkv'),
      processor: jitter(),
      processorKey: 'jitter',
      measureFlicker: true,
      batchSize: 1,
    });
    const smooth = await renderVideo({
      input: clip,
      output: join(dir, 'f-smooth.mkv'),
      processor: jitter(),
      processorKey: 'jitter',
      measureFlicker: true,
      smoothChroma: true,
      batchSize: 1,
    });
    expect(plain.flicker?.framePairs).toBe(24);
    expect(smooth.flicker!.meanChromaChange).toBeLessThan(plain.flicker!.meanChromaChange);
  });

  it('a resumed render with smoothing warms the filter on the frames before the resume point', async () => {
    const clip = await makeClip(join(dir, 'warm.mkv'), {
      seconds: 2,
      video: ['-c:v', 'ffv1', '-pix_fmt', 'gbrp'],
    });
    const cast = (seen?: number[]) =>
      perFrame(async (f) => {
        // Identify the frame by its content (testsrc2 frames all differ) and cast it deterministically.
        const key = f.data[1000] * 65536 + f.data[5000] * 256 + f.data[9000];
        seen?.push(key);
        return flicker(f, key % 97);
      });
    const straight = join(dir, 'warm-straight.mkv');
    await renderVideo({
      input: clip,
      output: straight,
      processor: cast(),
      processorKey: 'cast',
      smoothChroma: true,
      segmentFrames: 10,
    });
    const out = join(dir, 'warm-resumed.mkv');
    const ac = new AbortController();
    await renderVideo({
      input: clip,
      output: out,
      processor: cast(),
      processorKey: 'cast',
      smoothChroma: true,
      segmentFrames: 10,
      batchSize: 1,
      inFlightBatches: 1,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.segmentsDone >= 2) ac.abort();
      },
    }).catch(() => undefined);
    const seen: number[] = [];
    const r = await renderVideo({
      input: clip,
      output: out,
      processor: cast(seen),
      processorKey: 'cast',
      smoothChroma: true,
      segmentFrames: 10,
      resume: true,
    });
    expect(r.resumedFromFrame).toBe(20);
    expect(seen.length).toBe(50 - 20 + 8); // 8 warm-up frames re-processed, not written
    const a = await decodeAll(straight);
    const b = await decodeAll(out);
    expect(b.length).toBe(a.length);
    const frame = 96 * 64 * 3;
    // Before the resume point: identical; after it: within a level or two while the filter settles.
    expect(b.subarray(0, 20 * frame).equals(a.subarray(0, 20 * frame))).toBe(true);
    let worst = 0;
    for (let i = 20 * frame; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThanOrEqual(2);
  });
});
