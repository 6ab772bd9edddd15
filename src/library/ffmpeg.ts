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
