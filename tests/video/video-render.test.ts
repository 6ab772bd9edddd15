import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Raster } from '../../src/engine/types';
import { perFrame, renderVideo, VideoError, type VideoProgress } from '../../src/engine/video';
import { ffmpegCapabilities, fpsModeArgs } from '../../src/engine/video/ffmpeg-binaries';
import { ffmpegBins } from '../helpers/ffmpeg';
import {
  countFrames,
  decodeAll,
  ffmpeg,
  ffprobeJson,
  invertFrame,
  invertProcessor,
  makeClip,
  packetHashes,
  sleep,
  tempDir,
  X264_BT709,
} from '../helpers/video-fixtures';

let dir: string;
let cleanup: () => Promise<void>;
/** 96x64 RGB stored losslessly (FFV1 gbrp), 25 fps, 2 s = 50 frames, with a tone. */
let rgbClip: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  rgbClip = await makeClip(join(dir, 'rgb.mkv'), {
    video: ['-c:v', 'ffv1', '-pix_fmt', 'gbrp'],
    audio: [440],
    audioCodec: 'flac',
  });
});
afterAll(() => cleanup());

const FRAME = 96 * 64 * 3;

function expectInverted(out: Buffer, src: Buffer, frameBytes: number, from = 0): void {
  expect(out.length % frameBytes).toBe(0);
  for (let f = 0; f < out.length / frameBytes; f++) {
    const o = out.subarray(f * frameBytes, (f + 1) * frameBytes);
    const s = src.subarray((f + from) * frameBytes, (f + from + 1) * frameBytes);
    let bad = -1;
    for (let i = 0; i < o.length; i++) {
      if (o[i] !== 255 - s[i]) {
        bad = i;
        break;
      }
    }
    if (bad >= 0) throw new Error(`output frame ${f} is not source frame ${f + from} inverted (byte ${bad})`);
  }
}

describe('frames through the processor', () => {
  it('every frame reaches the processor once, in order, and lands in the output unchanged (lossless)', async () => {
    const seen: Raster[] = [];
    const out = join(dir, 'lossless.mkv');
    const r = await renderVideo({
      input: rgbClip,
      output: out,
      processor: invertProcessor(seen),
      processorKey: 'invert',
      segmentFrames: 12,
      batchSize: 3,
    });
    expect(seen).toHaveLength(50);
    expect(r.frames).toBe(50);
    expect(r.segments).toBe(5);
    const src = await decodeAll(rgbClip);
    const got = await decodeAll(out);
    expect(got.length).toBe(50 * FRAME);
    // The processor saw source frame i as its i-th call.
    seen.forEach((f, i) =>
      expect(
        Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength).equals(
          src.subarray(i * FRAME, (i + 1) * FRAME),
        ),
      ).toBe(true),
    );
    expectInverted(got, src, FRAME);
    // Work folder removed after the join; FLAC audio copied as it is into Matroska.
    await expect(stat(`${out}.tintype-work`)).rejects.toThrow();
    expect(await packetHashes(out, '0:a')).toEqual(await packetHashes(rgbClip, '0:a'));
  });

  it('rejects a processor that returns the wrong number of frames, saying how far it got', async () => {
    const bad = { frames: 1 as const, process: async (fs: Raster[]) => (fs.length === 4 ? fs.slice(1) : fs) };
    const err = (await renderVideo({
      input: rgbClip,
      output: join(dir, 'bad.mkv'),
      processor: bad,
      processorKey: 'bad',
      segmentFrames: 10,
      batchSize: 4,
    }).catch((e: unknown) => e)) as VideoError;
    expect(err.code).toBe('PROCESS_FAILED');
    expect(err.message).toMatch(/returned 3 frames for a batch of 4/);
    expect(err.message).toMatch(/frames done/);
  });
});

describe('film metadata', () => {
  it('MP4 keeps 30000/1001 fps, frame count, duration, rotation, SAR, colour tags and the audio bit-exact', async () => {
    const src = await makeClip(join(dir, 'ntsc.mp4'), {
      rate: '30000/1001',
      seconds: 2,
      audio: [440],
      rotate: 90,
      video: X264_BT709,
      extra: ['-aspect', '16:9'],
    });
    const out = join(dir, 'ntsc-out.mp4');
    const r = await renderVideo({
      input: src,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      segmentFrames: 16,
      crf: 20,
      preset: 'ultrafast',
    });
    expect(r.frames).toBe(60);
    expect(r.segments).toBe(4);
    expect(r.rotationApplied).toBe(false);
    const p = await ffprobeJson(out);
    const v = p.streams.find((s) => s.codec_type === 'video') as Record<string, unknown> & {
      side_data_list?: { rotation?: number }[];
    };
    expect(v.r_frame_rate).toBe('30000/1001');
    expect(v.avg_frame_rate).toBe('30000/1001');
    expect(await countFrames(out)).toBe(60);
    expect(Math.abs(Number(v.duration) - 60 * (1001 / 30000))).toBeLessThan(1001 / 30000);
    expect(v.side_data_list?.find((d) => d.rotation !== undefined)?.rotation).toBe(90);
    expect(v.sample_aspect_ratio).toBe('32:27');
    expect(v.width).toBe(96);
    expect(v).toMatchObject({ color_primaries: 'bt709', color_transfer: 'bt709', color_space: 'bt709' });
    expect(await packetHashes(out, '0:a')).toEqual(await packetHashes(src, '0:a'));
  });

  it('copies two audio tracks, re-encoding to AAC only the one MP4 cannot hold, and says so', async () => {
    const src = join(dir, 'two-tracks.mkv');
    await makeClip(src, {
      audio: [440, 660],
      video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      extra: ['-c:a:0', 'aac', '-c:a:1', 'pcm_s16le'],
    });
    const out = join(dir, 'two-tracks.mp4');
    const r = await renderVideo({
      input: src,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      preset: 'ultrafast',
    });
    expect(r.streams.audio.map((a) => a.action)).toEqual(['copied', 'aac']);
    expect(r.notes.join('\n')).toMatch(
      /audio stream 2 \(pcm_s16le\) cannot go into MP4 as it is: re-encoded to AAC/,
    );
    const audio = (await ffprobeJson(out)).streams.filter((s) => s.codec_type === 'audio');
    expect(audio.map((a) => a.codec_name)).toEqual(['aac', 'aac']);
    expect(await packetHashes(out, '0:a:0')).toEqual(await packetHashes(src, '0:a:0'));
    // The same source into Matroska keeps both tracks as they are.
    const mkv = join(dir, 'two-tracks-out.mkv');
    const r2 = await renderVideo({
      input: src,
      output: mkv,
      processor: invertProcessor(),
      processorKey: 'invert',
    });
    expect(r2.streams.audio.map((a) => a.action)).toEqual(['copied', 'copied']);
    expect(await packetHashes(mkv, '0:a:1')).toEqual(await packetHashes(src, '0:a:1'));
  });

  it('carries subtitles: copied into Matroska, converted to mov_text for MP4', async () => {
    const srt = join(dir, 'subs.srt');
    await writeFile(
      srt,
      '1\n00:00:00,000 --> 00:00:00,800\nHello\n\n2\n00:00:01,000 --> 00:00:01,500\nWorld\n',
    );
    const plain = await makeClip(join(dir, 'subbed-plain.mkv'), { seconds: 2, audio: [500] });
    const src = join(dir, 'subbed.mkv');
    await ffmpeg(['-i', plain, '-i', srt, '-map', '0', '-map', '1', '-c', 'copy', '-c:s', 'srt', src]);
    const mkv = join(dir, 'subbed-out.mkv');
    const r1 = await renderVideo({
      input: src,
      output: mkv,
      processor: invertProcessor(),
      processorKey: 'invert',
    });
    expect(r1.streams.subtitles.map((x) => x.action)).toEqual(['copied']);
    expect(await packetHashes(mkv, '0:s')).toEqual(await packetHashes(src, '0:s'));
    const mp4 = join(dir, 'subbed-out.mp4');
    const r2 = await renderVideo({
      input: src,
      output: mp4,
      processor: invertProcessor(),
      processorKey: 'invert',
      preset: 'ultrafast',
    });
    expect(r2.streams.subtitles.map((x) => x.action)).toEqual(['mov_text']);
    expect(r2.notes.join('\n')).toMatch(/subtitle stream 2 \(subrip\) converted to mov_text/);
    const subs = (await ffprobeJson(mp4)).streams.filter((x) => x.codec_type === 'subtitle');
    expect(subs.map((x) => x.codec_name)).toEqual(['mov_text']);
  });

  it('a clip without audio gives a video-only file', async () => {
    const src = await makeClip(join(dir, 'silent.mp4'), { seconds: 1 });
    const out = join(dir, 'silent-out.mp4');
    await renderVideo({
      input: src,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      preset: 'ultrafast',
    });
    const streams = (await ffprobeJson(out)).streams;
    expect(streams.map((s) => s.codec_type)).toEqual(['video']);
    expect(await countFrames(out)).toBe(25);
  });

  it('greyscale frames reach the processor as one channel; a colorizer may return RGB', async () => {
    const src = await makeClip(join(dir, 'grey.mkv'), {
      grey: true,
      video: ['-c:v', 'ffv1', '-pix_fmt', 'gray'],
      seconds: 1,
    });
    const channels = new Set<number>();
    const tint = perFrame(async (f) => {
      channels.add(f.channels);
      const rgb = new Uint8Array(f.width * f.height * 3);
      for (let i = 0; i < f.width * f.height; i++) {
        rgb[i * 3] = Math.min(255, f.data[i] + 40);
        rgb[i * 3 + 1] = f.data[i];
        rgb[i * 3 + 2] = Math.max(0, f.data[i] - 40);
      }
      return { width: f.width, height: f.height, channels: 3, depth: 8, data: rgb };
    });
    const out = join(dir, 'grey-tinted.mkv');
    await renderVideo({ input: src, output: out, processor: tint, processorKey: 'tint' });
    expect([...channels]).toEqual([1]);
    const grey = await decodeAll(src, 'gray');
    const got = await decodeAll(out, 'rgb24');
    expect(got.length).toBe(grey.length * 3);
    for (const i of [0, 777, grey.length - 1]) {
      expect([got[i * 3], got[i * 3 + 1], got[i * 3 + 2]]).toEqual([
        Math.min(255, grey[i] + 40),
        grey[i],
        Math.max(0, grey[i] - 40),
      ]);
    }
  });

  it('an odd frame size (97x61) is kept exactly, in 4:4:4', async () => {
    const src = await makeClip(join(dir, 'odd.mkv'), {
      size: '97x61',
      seconds: 1,
      video: ['-c:v', 'ffv1', '-pix_fmt', 'gbrp'],
    });
    const out = join(dir, 'odd.mp4');
    const r = await renderVideo({
      input: src,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      preset: 'ultrafast',
    });
    expect(r.notes.join('\n')).toMatch(/odd frame size 97x61/);
    const v = (await ffprobeJson(out)).streams[0];
    expect([v.width, v.height, v.pix_fmt]).toEqual([97, 61, 'yuv444p']);
    expect(await countFrames(out)).toBe(25);
  });

  it('an upscaling processor changes the size; the aspect ratio flag is kept', async () => {
    const src = await makeClip(join(dir, 'small.mp4'), { seconds: 1, extra: ['-aspect', '16:9'] });
    const up2 = perFrame(async (f) => {
      const w = f.width * 2;
      const h = f.height * 2;
      const data = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let c = 0; c < 3; c++)
            data[(y * w + x) * 3 + c] = f.data[((y >> 1) * f.width + (x >> 1)) * 3 + c];
      return { width: w, height: h, channels: 3, depth: 8, data };
    });
    const out = join(dir, 'small-x2.mp4');
    const r = await renderVideo({
      input: src,
      output: out,
      processor: up2,
      processorKey: 'up2',
      preset: 'ultrafast',
    });
    expect([r.width, r.height]).toEqual([192, 128]);
    const v = (await ffprobeJson(out)).streams[0];
    expect([v.width, v.height, v.sample_aspect_ratio]).toEqual([192, 128, '32:27']);
  });

  it('variable frame rate input becomes constant rate, and the result says so', async () => {
    // 25 fps with a 12-frame hole after frame 25: 50 pictures spread over 2.48 s.
    const src = join(dir, 'vfr.mp4');
    await makeClip(src, {
      seconds: 2,
      extra: [
        '-vf',
        "setpts='if(lt(N,25),N,N+12)/25/TB'",
        ...fpsModeArgs(await ffmpegCapabilities(ffmpegBins().ffmpeg), 'vfr'),
      ],
    });
    const out = join(dir, 'vfr-out.mkv');
    const r = await renderVideo({
      input: src,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
    });
    expect(r.notes.join('\n')).toMatch(/variable frame rate input .*converted to constant 25\/1 fps/);
    expect(r.fps).toBe('25/1');
    expect(r.frames).toBe(62); // the hole is filled by repeating the last picture
    const v = (await ffprobeJson(out)).streams[0];
    expect(v.r_frame_rate).toBe('25/1');
    expect(await countFrames(out)).toBe(62);
  });
});

describe('preview and formats', () => {
  it('renders only the chosen range, frame-exact, with the matching audio', async () => {
    const out = join(dir, 'preview.mkv');
    const r = await renderVideo({
      input: rgbClip,
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      start: 1,
      duration: 0.52,
    });
    expect(r.frames).toBe(13);
    const src = await decodeAll(rgbClip);
    const got = await decodeAll(out);
    expect(got.length).toBe(13 * FRAME);
    expectInverted(got, src, FRAME, 25);
    const audio = (await ffprobeJson(out)).streams.find((s) => s.codec_type === 'audio');
    expect(audio).toBeDefined();
    const ad = Number((await ffprobeJson(out, ['-select_streams', 'a', '-count_packets'])).format.duration);
    expect(Math.abs(ad - 0.52)).toBeLessThan(0.1);
  });

  it('writes H.265, ProRes, PNG (16-bit), TIFF and multi-page TIFF', async () => {
    const seconds = 0.4; // 10 frames
    const common = {
      input: rgbClip,
      processor: invertProcessor(),
      processorKey: 'invert',
      duration: seconds,
      preset: 'ultrafast',
    };
    const h265 = join(dir, 'x.h265.mp4');
    await renderVideo({ ...common, output: h265, format: 'h265' });
    const mov = join(dir, 'x.mov');
    await renderVideo({ ...common, output: mov });
    for (const [file, codec] of [
      [h265, 'hevc'],
      [mov, 'prores'],
    ]) {
      const v = (await ffprobeJson(file)).streams.find((s) => s.codec_type === 'video');
      expect(v?.codec_name).toBe(codec);
      expect(await countFrames(file)).toBe(10);
    }
    const pngDir = join(dir, 'png-frames');
    await renderVideo({ ...common, output: pngDir, format: 'png', bitDepth: 16 });
    const pngs = (await readdir(pngDir)).sort();
    expect(pngs).toHaveLength(10);
    expect(pngs[0]).toBe('frame_000001.png');
    const pm = await sharp(join(pngDir, pngs[3])).metadata();
    expect([pm.width, pm.height, pm.depth]).toEqual([96, 64, 'ushort']);
    // 16-bit output of an 8-bit picture: v * 257, so frame 4 inverted is exact.
    const px = await sharp(join(pngDir, pngs[3])).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
    const src = await decodeAll(rgbClip);
    expect(new Uint16Array(px.buffer, px.byteOffset, 3)[0]).toBe((255 - src[3 * FRAME]) * 257);

    await renderVideo({ ...common, output: join(dir, 'tif-frames', 'f_%04d.tif') });
    expect((await readdir(join(dir, 'tif-frames'))).sort().slice(0, 2)).toEqual(['f_0001.tif', 'f_0002.tif']);

    const stack = join(dir, 'stack.tif');
    await renderVideo({ ...common, output: stack });
    const sm = await sharp(stack).metadata();
    expect([sm.pages, sm.width, sm.depth]).toEqual([10, 96, 'uchar']);
    const page7 = await sharp(stack, { page: 7 }).raw().toBuffer();
    expect(page7.subarray(0, 6)).toEqual(
      Buffer.from(src.subarray(7 * FRAME, 7 * FRAME + 6).map((v) => 255 - v)),
    );
  });

  it('refuses to overwrite an output unless asked', async () => {
    const out = join(dir, 'exists.mkv');
    await writeFile(out, 'precious');
    const err = (await renderVideo({
      input: rgbClip,
      output: out,
      processor: invertProcessor(),
      processorKey: 'i',
      duration: 0.2,
    }).catch((e: unknown) => e)) as VideoError;
    expect(err.code).toBe('OUTPUT_EXISTS');
    expect(await readFile(out, 'utf8')).toBe('precious');
    await renderVideo({
      input: rgbClip,
      output: out,
      processor: invertProcessor(),
      processorKey: 'i',
      duration: 0.2,
      overwrite: true,
    });
    expect(await countFrames(out)).toBe(5);
  });
});

describe('progress, cancel and resume in-process', () => {
  it('reports progress and ETA, stops on abort keeping finished segments, and resumes to the exact result', async () => {
    const out = join(dir, 'cancel.mkv');
    const ac = new AbortController();
    const events: VideoProgress[] = [];
    const slow = perFrame(async (f) => {
      await sleep(15);
      return invertFrame(f);
    });
    const err = (await renderVideo({
      input: rgbClip,
      output: out,
      processor: slow,
      processorKey: 'invert',
      segmentFrames: 8,
      signal: ac.signal,
      onProgress: (p) => {
        events.push(p);
        if (p.segmentsDone >= 2) ac.abort();
      },
    }).catch((e: unknown) => e)) as VideoError;
    expect(err).toBeInstanceOf(VideoError);
    expect(err.code).toBe('CANCELLED');
    expect(err.progress?.segmentsKept).toBeGreaterThanOrEqual(2);
    expect(err.message).toMatch(/continue with --resume/);
    const rendering = events.filter((e) => e.stage === 'rendering');
    expect(rendering.length).toBeGreaterThan(1);
    expect(rendering.every((e, i) => i === 0 || e.framesDone >= rendering[i - 1].framesDone)).toBe(true);
    expect(rendering.at(-1)?.framesTotal).toBe(50);
    expect(rendering.some((e) => e.fps > 0 && e.etaSeconds !== undefined)).toBe(true);
    const journal = JSON.parse(await readFile(join(`${out}.tintype-work`, 'journal.json'), 'utf8')) as {
      segments: unknown[];
    };
    expect(journal.segments.length).toBe(err.progress?.segmentsKept);

    // Without --resume the unfinished work is not silently thrown away.
    const refused = (await renderVideo({
      input: rgbClip,
      output: out,
      processor: slow,
      processorKey: 'invert',
      segmentFrames: 8,
    }).catch((e: unknown) => e)) as VideoError;
    expect(refused.code).toBe('WORK_EXISTS');
    // Different settings cannot be mixed into the same output.
    const mismatch = (await renderVideo({
      input: rgbClip,
      output: out,
      processor: slow,
      processorKey: 'other-model',
      segmentFrames: 8,
      resume: true,
    }).catch((e: unknown) => e)) as VideoError;
    expect(mismatch.code).toBe('JOURNAL_MISMATCH');
    expect(mismatch.message).toMatch(/processor/);

    const seen: Raster[] = [];
    const r = await renderVideo({
      input: rgbClip,
      output: out,
      processor: invertProcessor(seen),
      processorKey: 'invert',
      segmentFrames: 8,
      resume: true,
    });
    expect(r.resumedFromFrame).toBe(journal.segments.length * 8);
    expect(seen.length).toBe(50 - r.resumedFromFrame);
    expect(r.frames).toBe(50);
    expectInverted(await decodeAll(out), await decodeAll(rgbClip), FRAME);
  });
});
