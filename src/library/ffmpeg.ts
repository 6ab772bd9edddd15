import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolveFfmpeg, type FfmpegBinaries } from '../engine';

const run = promisify(execFile);

/**
 * ffmpeg/ffprobe for video thumbnails and probing: the engine's locator, the same binaries the video
 * pipeline uses. A file that cannot be probed because ffmpeg is missing says so and names the file.
 */
async function binaries(file: string): Promise<FfmpegBinaries> {
  try {
    return await resolveFfmpeg();
  } catch (err) {
    throw new Error(`${file}: cannot read videos: ${(err as Error).message}`);
  }
}

export interface VideoProbe {
  width: number;
  height: number;
  durationSec: number | null;
  fps: number | null;
}

function parseRate(rate: string | undefined): number | null {
  if (!rate) return null;
  const [n, d] = rate.split('/').map(Number);
  const v = d ? n / d : n;
  return Number.isFinite(v) && v > 0 ? v : null;
}

export async function probeVideo(file: string): Promise<VideoProbe> {
  const { ffprobe } = await binaries(file);
  let stdout: string;
  try {
    ({ stdout } = await run(
      ffprobe,
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file],
      {
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    ));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${file}: cannot read videos: ${ffprobe} does not run`);
    throw new Error(`${file}: not a readable video: ${(e.stderr || e.message).trim().split('\n')[0]}`);
  }
  const info = JSON.parse(stdout) as {
    streams?: {
      codec_type?: string;
      width?: number;
      height?: number;
      avg_frame_rate?: string;
      r_frame_rate?: string;
      duration?: string;
    }[];
    format?: { duration?: string };
  };
  const video = info.streams?.find((s) => s.codec_type === 'video' && s.width && s.height);
  if (!video) throw new Error(`${file}: not a readable video: no video stream`);
  const duration = Number(video.duration ?? info.format?.duration);
  return {
    width: video.width!,
    height: video.height!,
    durationSec: Number.isFinite(duration) ? duration : null,
    fps: parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate),
  };
}

/** One frame as a JPEG, from a tenth of the way in (the first frame is often black). */
export async function extractFrame(file: string, atSec: number, out: string, maxEdge: number): Promise<void> {
  const scale = `scale='if(gt(iw,ih),min(${maxEdge},iw),-2)':'if(gt(iw,ih),-2,min(${maxEdge},ih))'`;
  const { ffmpeg } = await binaries(file);
  try {
    await run(
      ffmpeg,
      [
        '-v',
        'error',
        '-ss',
        atSec.toFixed(3),
        '-i',
        file,
        '-frames:v',
        '1',
        '-vf',
        scale,
        '-q:v',
        '3',
        '-y',
        out,
      ],
      { timeout: 60_000 },
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    throw new Error(`${file}: cannot extract a frame: ${(e.stderr || e.message).trim().split('\n')[0]}`);
  }
}

/** ffmpeg's scale for "long side at most `edge`", both sides even (4:2:0 needs them even). */
function fitEven(edge: number): string {
  return (
    `scale='if(gt(iw,ih),trunc(min(${edge},iw)/2)*2,-2)':` + `'if(gt(iw,ih),-2,trunc(min(${edge},ih)/2)*2)'`
  );
}

async function runFfmpeg(file: string, what: string, args: string[], signal?: AbortSignal): Promise<void> {
  const { ffmpeg } = await binaries(file);
  try {
    await run(ffmpeg, ['-v', 'error', '-nostdin', ...args], { signal, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    throw new Error(`${file}: cannot ${what}: ${(e.stderr || e.message).trim().split('\n')[0]}`);
  }
}

/**
 * A copy of a film any Chromium plays (the app's window and a browser): H.264 4:2:0 in MP4 with the
 * index at the front, long side at most `maxEdge`, the first audio track as AAC. Lossless masters
 * (FFV1) and sources in other codecs are watched through one of these.
 */
export async function makePlayable(
  src: string,
  out: string,
  maxEdge: number,
  signal?: AbortSignal,
): Promise<void> {
  await runFfmpeg(
    src,
    'make a playable copy',
    [
      '-i',
      src,
      '-map',
      '0:v:0',
      '-map',
      '0:a:0?',
      '-vf',
      `${fitEven(maxEdge)},format=yuv420p`,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '23',
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      '-y',
      out,
    ],
    signal,
  );
}

/**
 * `durationSec` seconds of a film from `startSec`, shrunk to `maxEdge`, losslessly (FFV1, no sound):
 * the input of a range preview, small enough that the recipe runs on it in seconds.
 */
export async function cutScaled(
  src: string,
  startSec: number,
  durationSec: number,
  maxEdge: number,
  out: string,
  signal?: AbortSignal,
): Promise<void> {
  await runFfmpeg(
    src,
    'cut a preview range',
    [
      '-ss',
      startSec.toFixed(3),
      '-i',
      src,
      '-t',
      durationSec.toFixed(3),
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-vf',
      fitEven(maxEdge),
      '-c:v',
      'ffv1',
      '-f',
      'matroska',
      '-y',
      out,
    ],
    signal,
  );
}
