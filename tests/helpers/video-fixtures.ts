/**
 * Clips for the video tests, generated with ffmpeg's lavfi sources (testsrc2 + sine) in a temp
 * folder: tiny (96x64, 2-3 s) because the machine is shared.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Raster } from '../../src/engine/types';
import { perFrame, type VideoProcessor } from '../../src/engine/video';
import { ffmpegCapabilities, fpsModeArgs } from '../../src/engine/video/ffmpeg-binaries';
import { ffmpegBins } from './ffmpeg';

const exec = promisify(execFile);

export async function ffmpeg(args: string[]): Promise<string> {
  const { stderr } = await exec(
    ffmpegBins().ffmpeg,
    ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args],
    {
      maxBuffer: 64 << 20,
    },
  );
  return stderr;
}

export async function ffprobeJson(
  file: string,
  extra: string[] = [],
): Promise<{
  format: { duration?: string };
  streams: Record<string, unknown>[];
}> {
  const { stdout } = await exec(
    ffmpegBins().ffprobe,
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...extra, file],
    {
      maxBuffer: 64 << 20,
    },
  );
  return JSON.parse(stdout);
}

export async function tempDir(
  prefix = 'tintype-video-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface ClipOptions {
  size?: string;
  rate?: string;
  seconds?: number;
  /** Sine tones, one audio stream each (frequencies). */
  audio?: number[];
  audioCodec?: string;
  /** Video codec args; default libx264 ultrafast 4:2:0. */
  video?: string[];
  grey?: boolean;
  /** Legacy rotate tag (ffmpeg 5). */
  rotate?: number;
  extra?: string[];
}

/** H.264 with BT.709 colour tags, for tests that check colour metadata is carried through. */
export const X264_BT709 = [
  '-c:v',
  'libx264',
  '-preset',
  'ultrafast',
  '-pix_fmt',
  'yuv420p',
  '-color_primaries',
  'bt709',
  '-color_trc',
  'bt709',
  '-colorspace',
  'bt709',
];

/** A testsrc2 clip (moving pattern with a frame counter: every frame differs) with optional tones. */
export async function makeClip(path: string, o: ClipOptions = {}): Promise<string> {
  const seconds = o.seconds ?? 2;
  const [w, h] = (o.size ?? '96x64').split('x').map(Number);
  // testsrc2 rounds odd sizes down; an odd size is cut from the next even one.
  const even = `${w + (w % 2)}x${h + (h % 2)}`;
  const filters = [
    ...(w % 2 || h % 2 ? [`format=rgb24,crop=${w}:${h}:0:0`] : []),
    ...(o.grey ? ['format=gray'] : []),
  ];
  const args = ['-f', 'lavfi', '-i', `testsrc2=size=${even}:rate=${o.rate ?? '25'}:duration=${seconds}`];
  for (const f of o.audio ?? [])
    args.push('-f', 'lavfi', '-i', `sine=frequency=${f}:duration=${seconds}:sample_rate=48000`);
  args.push('-map', '0:v');
  (o.audio ?? []).forEach((_f, i) => args.push('-map', `${i + 1}:a`));
  if (filters.length) args.push('-vf', filters.join(','));
  args.push(
    ...(o.video ?? ['-c:v', 'libx264', '-preset', 'ultrafast', ...(o.grey ? [] : ['-pix_fmt', 'yuv420p'])]),
  );
  if (o.audio?.length) args.push('-c:a', o.audioCodec ?? 'aac');
  args.push(...(o.extra ?? []));
  if (!o.rotate) {
    await ffmpeg([...args, path]);
    return path;
  }
  // ffmpeg 5 only turns the rotate tag into a display matrix on a stream copy.
  const plain = path.replace(/(\.\w+)$/, '.unrotated$1');
  await ffmpeg([...args, plain]);
  await ffmpeg(['-i', plain, '-map', '0', '-c', 'copy', '-metadata:s:v:0', `rotate=${o.rotate}`, path]);
  return path;
}

/** All frames of a file's first video stream as raw bytes in `pixFmt`. */
export async function decodeAll(file: string, pixFmt = 'rgb24', extra: string[] = []): Promise<Buffer> {
  const { stdout } = await exec(
    ffmpegBins().ffmpeg,
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-i',
      file,
      ...extra,
      '-map',
      '0:v:0',
      ...fpsModeArgs(await ffmpegCapabilities(ffmpegBins().ffmpeg), 'passthrough'),
      '-f',
      'rawvideo',
      '-pix_fmt',
      pixFmt,
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 512 << 20 },
  );
  return stdout as unknown as Buffer;
}

/** MD5 of every packet of one stream, copied without decoding (proves a stream-copy is bit-exact). */
export async function packetHashes(file: string, map: string): Promise<string[]> {
  const { stdout } = await exec(ffmpegBins().ffmpeg, [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-i',
    file,
    '-map',
    map,
    '-c',
    'copy',
    '-f',
    'framemd5',
    '-',
  ]);
  return stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').pop()?.trim() ?? '');
}

export async function countFrames(file: string): Promise<number> {
  const { stdout } = await exec(ffmpegBins().ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_frames',
    '-show_entries',
    'stream=nb_read_frames',
    '-of',
    'json',
    file,
  ]);
  return Number((JSON.parse(stdout) as { streams: { nb_read_frames: string }[] }).streams[0].nb_read_frames);
}

export const invertFrame = async (f: Raster): Promise<Raster> => {
  const max = f.depth === 16 ? 65535 : 255;
  const data = f.depth === 16 ? new Uint16Array(f.data.length) : new Uint8Array(f.data.length);
  for (let i = 0; i < data.length; i++) data[i] = max - f.data[i];
  return { ...f, data };
};

/** A real processor for tests: inverts every sample (and records the order frames arrive in). */
export function invertProcessor(seen?: Raster[]): VideoProcessor {
  return perFrame(async (f) => {
    seen?.push(f);
    return invertFrame(f);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
