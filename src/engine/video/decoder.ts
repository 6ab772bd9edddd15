import { spawn } from 'node:child_process';
import type { Raster } from '../types';
import { exited, runCommand, StderrTail } from './child';
import { swsMatrix, swsRange } from './color';
import { VideoError } from '../errors';
import { fpsModeArgs } from './ffmpeg-binaries';
import { frameBytes, rasterFromBytes, rawPixFmt, type FrameLayout } from './pixels';
import type { VideoStreamInfo } from './probe';
import { formatRational, toNumber, type Rational } from './rational';
import { BoundedQueue } from './queue';

export interface DecodeOptions {
  ffmpeg: string;
  input: string;
  video: VideoStreamInfo;
  /** The frames as they come out of the pipe (after any auto-rotation). */
  layout: FrameLayout;
  /** Turn frames upright (for containers that cannot carry the rotation flag). */
  autorotate: boolean;
  /** Output frame rate; with `cfr` the decoder resamples irregular timestamps onto this grid. */
  fps: Rational;
  cfr: boolean;
  /** The ffmpeg has -fps_mode (≥ 5.1); older ones spell it -vsync. */
  fpsModeOption: boolean;
  /** First frame wanted (0-based on the output grid) and how many (undefined: to the end). */
  fromFrame: number;
  maxFrames?: number;
  /** How the first frame is reached: seek (fast, verified separately) or decode-and-drop from the start. */
  seek: 'accurate' | 'trim';
  /** Stop at the first decoding error instead of concealing it. */
  strict: boolean;
  /** Frames buffered between the pipe and the consumer; the decoder is paused beyond this. */
  queueFrames: number;
  signal?: AbortSignal;
}

export interface FrameStream {
  /** Frames in order; throws a VideoError if ffmpeg fails. */
  next(): Promise<Raster | undefined>;
  /** Frames read from the pipe so far. */
  readonly framesRead: number;
  close(): Promise<void>;
}

/** Where accurate seeking lands for frame k: half a frame early, so rounding can never skip frame k. */
export function seekSeconds(
  video: VideoStreamInfo,
  formatStart: number,
  frame: number,
  fps: Rational,
): number {
  return Math.max(0, video.startTime - formatStart + (frame - 0.5) / toNumber(fps));
}

/** YUV frames leave in the source's own format (yuvj420p stays full range); others as the layout says. */
function pipeFormat(o: DecodeOptions): string {
  return o.layout.planar ? o.video.pixFmt : rawPixFmt(o.layout);
}

function filterChain(o: DecodeOptions): string {
  const f: string[] = [];
  if (o.cfr) f.push(`fps=${formatRational(o.fps)}`);
  if (o.seek === 'trim' && o.fromFrame > 0) f.push(`trim=start_frame=${o.fromFrame}`, 'setpts=PTS-STARTPTS');
  const pix = pipeFormat(o);
  if (o.layout.channels === 3 && !o.layout.planar && !o.video.rgb && !o.video.grey) {
    f.push(
      `scale=in_color_matrix=${swsMatrix(o.video.color.space, o.video.height)}:in_range=${swsRange(o.video.color.range)}:flags=bicubic+accurate_rnd+full_chroma_int`,
    );
  }
  f.push(`format=${pix}`);
  return f.join(',');
}

export function decoderArgs(o: DecodeOptions, formatStart: number): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
  if (o.strict) args.push('-xerror');
  if (!o.autorotate) args.push('-noautorotate');
  if (o.seek === 'accurate' && o.fromFrame > 0)
    args.push('-ss', seekSeconds(o.video, formatStart, o.fromFrame, o.fps).toFixed(6));
  args.push('-i', o.input, '-map', `0:${o.video.index}`, '-an', '-sn', '-dn');
  args.push('-vf', filterChain(o));
  args.push(...fpsModeArgs(o, o.cfr ? 'cfr' : 'passthrough'));
  if (o.maxFrames !== undefined) args.push('-frames:v', String(o.maxFrames));
  args.push('-f', 'rawvideo', '-pix_fmt', pipeFormat(o), 'pipe:1');
  return args;
}

/**
 * Decodes to raw frames over a pipe. Bytes are sliced into whole frames as they arrive; when the
 * queue is full the pipe is paused, which blocks ffmpeg, so at most `queueFrames` frames wait in memory.
 */
/** Frames ffmpeg may still output after an error line that were decoded before it (decoder delay). */
const DAMAGE_SLACK_FRAMES = 24;

export function openDecoder(o: DecodeOptions, formatStart: number): FrameStream {
  const bytes = frameBytes(o.layout);
  const queue = new BoundedQueue<Raster>(Math.max(1, o.queueFrames));
  const stderr = new StderrTail();
  const child = spawn(o.ffmpeg, decoderArgs(o, formatStart), { stdio: ['ignore', 'pipe', 'pipe'] });
  let framesRead = 0;
  let current = new Uint8Array(bytes);
  let filled = 0;
  let closing = false;

  // At -loglevel error every stderr line is a decoding or demuxing error, yet -xerror misses many
  // (a demuxer that resyncs past garbage; older ffmpeg builds, like the npm-shipped one). In strict
  // mode the first such line holds back every later frame: if the file simply ends soon after, it
  // was truncated (the caller's frame count says so); if pictures keep coming, they are concealed
  // damage and the film stops there instead of carrying them.
  let damageAt: number | undefined;
  let heldBack = 0;
  let damage: VideoError | undefined;
  child.stderr.on('data', (d: Buffer) => {
    stderr.push(d);
    if (o.strict && damageAt === undefined && stderr.lines()) damageAt = framesRead;
  });
  const concealed = (): void => {
    damage = new VideoError(
      `${o.input}: damaged input: decoding failed after source frame ${o.fromFrame + (damageAt ?? 0)}: ${stderr.lines()}`,
      'DECODE_FAILED',
      o.input,
    );
    closing = true;
    child.stdout.resume();
    child.kill('SIGKILL');
  };
  child.stdout.on('data', (chunk: Buffer) => {
    if (closing) return;
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(bytes - filled, chunk.length - offset);
      current.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === bytes && damageAt !== undefined) {
        filled = 0;
        if (++heldBack > DAMAGE_SLACK_FRAMES) return concealed();
      } else if (filled === bytes) {
        framesRead += 1;
        if (!queue.push(rasterFromBytes(current, o.layout))) child.stdout.pause();
        current = new Uint8Array(bytes);
        filled = 0;
      }
    }
  });
  queue.onDrain = () => child.stdout.resume();

  // A paused stdout never reaches 'close': when stopping, let the rest of the pipe drain into nothing.
  const stop = (): void => {
    closing = true;
    child.stdout.resume();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onAbort = (): void => stop();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const done = new Promise<void>((resolve) => {
    child.on('error', (err) => {
      queue.end(new VideoError(`cannot run ${o.ffmpeg}: ${err.message}`, 'FFMPEG_NOT_FOUND', o.ffmpeg));
      resolve();
    });
    child.on('close', (code, signal) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (damage) queue.end(damage);
      else if (closing) queue.end();
      else if (code !== 0) {
        const why = stderr.lines() || `ffmpeg exited with ${code ?? signal}`;
        queue.end(
          new VideoError(
            `${o.input}: decoding failed after source frame ${o.fromFrame + framesRead}: ${why}`,
            'DECODE_FAILED',
            o.input,
          ),
        );
      } else if (filled !== 0) {
        queue.end(
          new VideoError(
            `${o.input}: decoder stopped in the middle of frame ${framesRead + 1}`,
            'DECODE_FAILED',
            o.input,
          ),
        );
      } else queue.end();
      resolve();
    });
  });

  return {
    next: () => queue.take(),
    get framesRead() {
      return framesRead;
    },
    async close() {
      stop();
      await exited(child);
      await done;
    },
  };
}

/**
 * Checks that accurate seeking to frame k really lands on frame k: decodes one frame with the same
 * seek and compares its timestamp with k/fps. Containers with broken indexes fail this and the
 * caller falls back to decoding from the start.
 */
export async function verifySeek(
  ffmpeg: string,
  input: string,
  video: VideoStreamInfo,
  formatStart: number,
  frame: number,
  fps: Rational,
  signal?: AbortSignal,
): Promise<{ ok: boolean; ptsTime?: number; expected: number }> {
  const expected = video.startTime + frame / toNumber(fps);
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'info', '-noautorotate'];
  args.push('-ss', seekSeconds(video, formatStart, frame, fps).toFixed(6), '-copyts', '-i', input);
  args.push(
    '-map',
    `0:${video.index}`,
    '-an',
    '-sn',
    '-dn',
    '-vf',
    'showinfo',
    '-frames:v',
    '1',
    '-f',
    'null',
    '-',
  );
  const r = await runCommand(ffmpeg, args, signal);
  const m = /pts_time:\s*(-?[\d.]+)/.exec(r.stderr);
  if (r.code !== 0 || !m) return { ok: false, expected };
  const ptsTime = Number(m[1]);
  return { ok: Math.abs(ptsTime - expected) < 0.5 / toNumber(fps), ptsTime, expected };
}
