import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ffmpegCapabilities,
  probeMedia,
  renderVideo,
  resolveFfmpeg,
  VideoError,
} from '../../src/engine/video';
import { ffmpeg, invertProcessor, makeClip, tempDir, X264_BT709 } from '../helpers/video-fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('ffmpeg resolution', () => {
  it('prefers the explicit setting, then FFMPEG_PATH, then PATH', async () => {
    const fake = join(dir, 'bin');
    await mkdir(fake, { recursive: true });
    for (const name of ['ffmpeg', 'ffprobe']) {
      await writeFile(join(fake, name), '#!/bin/sh\nexit 0\n');
      await chmod(join(fake, name), 0o755);
    }
    const env = { PATH: '/usr/bin:/bin' };
    const fromSetting = await resolveFfmpeg({ ffmpegPath: join(fake, 'ffmpeg'), env, skipPackaged: true });
    expect(fromSetting.ffmpeg).toBe(join(fake, 'ffmpeg'));
    expect(fromSetting.source.ffmpeg).toBe('setting');
    // ffprobe is looked for beside the chosen ffmpeg.
    expect(fromSetting.ffprobe).toBe(join(fake, 'ffprobe'));

    const fromEnv = await resolveFfmpeg({
      env: { ...env, FFMPEG_PATH: join(fake, 'ffmpeg') },
      skipPackaged: true,
    });
    expect(fromEnv.source.ffmpeg).toBe('FFMPEG_PATH');

    const fromPath = await resolveFfmpeg({ env, skipPackaged: true });
    expect(fromPath.source.ffmpeg).toBe('PATH');
    expect(fromPath.ffmpeg).toBe('/usr/bin/ffmpeg');
    expect(fromPath.ffprobe).toBe('/usr/bin/ffprobe');
  });

  it('falls through a setting that does not exist', async () => {
    const r = await resolveFfmpeg({
      ffmpegPath: join(dir, 'nope', 'ffmpeg'),
      env: { PATH: '/usr/bin' },
      skipPackaged: true,
    });
    expect(r.ffmpeg).toBe('/usr/bin/ffmpeg');
  });

  it('uses the ffmpeg and ffprobe npm shipped before PATH, with every encoder the formats need', async () => {
    // An empty PATH: a machine without any system ffmpeg still finds the npm-shipped binaries.
    const r = await resolveFfmpeg({ env: { PATH: '' } });
    expect(r.source).toEqual({ ffmpeg: '@ffmpeg-installer/ffmpeg', ffprobe: '@ffprobe-installer/ffprobe' });
    expect(r.ffmpeg).toContain(join('node_modules', '@ffmpeg-installer'));
    const caps = await ffmpegCapabilities(r.ffmpeg);
    for (const encoder of ['libx264', 'libx265', 'ffv1', 'prores_ks', 'png', 'tiff', 'aac'])
      expect(caps.encoders, encoder).toContain(encoder);
    // A setting or FFMPEG_PATH still wins over the shipped binary.
    const viaEnv = await resolveFfmpeg({ env: { PATH: '', FFMPEG_PATH: r.ffprobe } });
    expect(viaEnv.source.ffmpeg).toBe('FFMPEG_PATH');
  });

  it('reads the older TINTYPE_FFMPEG / TINTYPE_FFPROBE names after FFMPEG_PATH', async () => {
    const shipped = await resolveFfmpeg({ env: { PATH: '' } });
    const r = await resolveFfmpeg({
      env: { PATH: '', TINTYPE_FFMPEG: shipped.ffprobe, TINTYPE_FFPROBE: shipped.ffmpeg },
    });
    expect(r.source).toEqual({ ffmpeg: 'TINTYPE_FFMPEG', ffprobe: 'TINTYPE_FFPROBE' });
  });

  it('knows which options an older ffmpeg lacks (version from libavutil, also in git builds)', async () => {
    const { ffmpeg } = await resolveFfmpeg({ env: { PATH: '' } });
    const caps = await ffmpegCapabilities(ffmpeg);
    // The shipped build is a 2018 git snapshot (libavutil 56): -vsync, no -display_rotation.
    expect(caps.avutil[0]).toBeGreaterThan(50);
    if (caps.avutil[0] < 57) {
      expect(caps.fpsModeOption).toBe(false);
      expect(caps.displayRotationOption).toBe(false);
    }
  });

  it('names everything it tried when ffmpeg is missing', async () => {
    const err = await resolveFfmpeg({
      ffmpegPath: '/nowhere/ffmpeg',
      env: { PATH: join(dir, 'empty'), FFMPEG_PATH: '/also/missing' },
      skipPackaged: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VideoError);
    expect((err as VideoError).code).toBe('FFMPEG_NOT_FOUND');
    expect((err as VideoError).message).toMatch(/ffmpeg was not found/);
    expect((err as VideoError).message).toContain('/nowhere/ffmpeg');
    expect((err as VideoError).message).toContain('FFMPEG_PATH (/also/missing');
    expect((err as VideoError).message).toContain('on PATH');
  });

  it('a render without ffmpeg fails before touching anything', async () => {
    const out = join(dir, 'never.mp4');
    const err = await renderVideo({
      input: join(dir, 'whatever.mp4'),
      output: out,
      processor: invertProcessor(),
      processorKey: 'invert',
      ffmpeg: { env: { PATH: '' }, skipPackaged: true },
    }).catch((e: unknown) => e);
    expect((err as VideoError).code).toBe('FFMPEG_NOT_FOUND');
  });
});

describe('probe', () => {
  it('reads 30000/1001 fps, frame count, rotation, SAR and colour tags', async () => {
    const clip = await makeClip(join(dir, 'ntsc.mp4'), {
      rate: '30000/1001',
      seconds: 2,
      rotate: 90,
      audio: [440],
      video: X264_BT709,
      extra: ['-aspect', '16:9'],
    });
    const { ffprobe } = await resolveFfmpeg();
    const m = await probeMedia(ffprobe, clip);
    const v = m.video!;
    expect(v.fps).toEqual({ num: 30000, den: 1001 });
    expect(v.vfr).toBe(false);
    expect(v.frameCount).toBe(60);
    expect(v.frameCountExact).toBe(true);
    expect(v.rotation).toBe(90);
    expect(v.width).toBe(96);
    expect(v.sar).toEqual({ num: 32, den: 27 }); // 96x64 (3:2) displayed as 16:9
    expect(v.color).toMatchObject({ primaries: 'bt709', transfer: 'bt709', space: 'bt709' });
    expect(m.audio).toHaveLength(1);
    expect(m.audio[0].codec).toBe('aac');
  });

  it('sees greyscale and high bit depth, and counts frames when the container does not say', async () => {
    const grey = await makeClip(join(dir, 'grey16.mkv'), {
      grey: true,
      video: ['-c:v', 'ffv1', '-pix_fmt', 'gray16le'],
    });
    const { ffprobe } = await resolveFfmpeg();
    const v = (await probeMedia(ffprobe, grey)).video!;
    expect(v.grey).toBe(true);
    expect(v.bitDepth).toBe(16);
    expect(v.frameCount).toBe(50);
    expect(v.frameCountExact).toBe(true);
  });

  it('rejects a missing file, an empty file and a non-media file by name', async () => {
    const { ffprobe } = await resolveFfmpeg();
    const missing = join(dir, 'missing.mp4');
    await expect(probeMedia(ffprobe, missing)).rejects.toMatchObject({
      code: 'INPUT_NOT_FOUND',
      message: expect.stringContaining(missing),
    });
    const empty = join(dir, 'empty.mp4');
    await writeFile(empty, '');
    await expect(probeMedia(ffprobe, empty)).rejects.toMatchObject({
      code: 'NOT_MEDIA',
      message: expect.stringContaining('empty'),
    });
    const text = join(dir, 'notes.mp4');
    await writeFile(text, 'this is not a film, just some words in a file\n'.repeat(20));
    await expect(probeMedia(ffprobe, text)).rejects.toMatchObject({
      code: 'NOT_MEDIA',
      message: expect.stringContaining(text),
    });
  });
});

describe('inputs without a picture', () => {
  it('refuses an audio-only file, naming its streams', async () => {
    const audio = join(dir, 'tone.m4a');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', audio]);
    const err = (await renderVideo({
      input: audio,
      output: join(dir, 'tone-out.mp4'),
      processor: invertProcessor(),
      processorKey: 'i',
    }).catch((e: unknown) => e)) as VideoError;
    expect(err.code).toBe('NO_VIDEO_STREAM');
    expect(err.message).toContain(audio);
    expect(err.message).toMatch(/audio-only file \(streams: audio aac\)/);
  });

  it('refuses a file whose only stream is a subtitle', async () => {
    const srt = join(dir, 'subs.srt');
    await writeFile(srt, '1\n00:00:00,000 --> 00:00:01,000\nHello\n');
    const mkv = join(dir, 'subs-only.mkv');
    await ffmpeg(['-i', srt, '-c:s', 'srt', mkv]);
    const err = (await renderVideo({
      input: mkv,
      output: join(dir, 'subs-out.mp4'),
      processor: invertProcessor(),
      processorKey: 'i',
    }).catch((e: unknown) => e)) as VideoError;
    expect(err.code).toBe('NO_VIDEO_STREAM');
    expect(err.message).toMatch(/without a video stream/);
  });
});
