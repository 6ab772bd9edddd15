import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Raster } from '../types';
import { exited, StderrTail } from './child';
import { colorTagArgs, swsMatrix, swsRange } from './color';
import { ioProblemInText, VideoError } from '../errors';
import type { FormatSpec } from './formats';
import { bytesOf, describeLayout, layoutOf, rawPixFmt, sameLayout, type FrameLayout } from './pixels';
import type { ColorInfo } from './probe';
import { formatRational, type Rational } from './rational';

export interface EncodeSettings {
  format: FormatSpec;
  fps: Rational;
  sar: Rational;
  color: ColorInfo;
  /** The source's coded height: picks the YUV matrix for untagged sources, as the decoder did. */
  sourceHeight: number;
  /** H.264/H.265 quality (lower is better); defaults 18 / 20. */
  crf?: number;
  /** x264/x265 preset. */
  preset?: string;
  /** Sample depth for PNG/TIFF output; default: the processed frames' depth. */
  bitDepth?: 8 | 16;
  /** The ffmpeg's MP4 muxer has -movie_timescale (ffmpeg ≥ 4.4; the npm-shipped 4.x build has not). */
  movieTimescaleOption?: boolean;
}

export interface FrameSink {
  write(frame: Raster): Promise<void>;
  /** Flushes and closes; resolves once the file is complete. */
  finish(): Promise<void>;
  /** Kills the encoder; the caller removes what it wrote. */
  abort(): Promise<void>;
  readonly framesWritten: number;
}

export interface EncodePlan {
  pixFmt: string;
  args: string[];
  notes: string[];
}

/** Codec, pixel format and flags for one format and frame layout. */
export function encodePlan(s: EncodeSettings, l: FrameLayout): EncodePlan {
  const notes: string[] = [];
  const odd = l.width % 2 === 1 || l.height % 2 === 1;
  const yuv = (pixFmt: string): string[] => [
    '-vf',
    // Frames that are already 4:2:0 in the source's matrix and range go to the encoder as they are.
    l.planar === pixFmt
      ? `setsar=${formatRational(s.sar)}`
      : `setsar=${formatRational(s.sar)},scale=out_color_matrix=${swsMatrix(s.color.space, s.sourceHeight)}:out_range=${swsRange(s.color.range)}:flags=bicubic+accurate_rnd+full_chroma_int,format=${pixFmt}`,
  ];
  switch (s.format.format) {
    case 'mp4': {
      // 4:2:0 needs even sizes; odd-sized frames keep their exact size in 4:4:4 instead of being cropped.
      const pixFmt = odd ? 'yuv444p' : 'yuv420p';
      if (odd)
        notes.push(
          `odd frame size ${l.width}x${l.height}: H.264 encoded as 4:4:4 (High 4:4:4 profile) to keep every pixel`,
        );
      return {
        pixFmt,
        args: [
          ...yuv(pixFmt),
          '-c:v',
          s.format.encoder,
          '-preset',
          s.preset ?? 'medium',
          '-crf',
          String(s.crf ?? 18),
          ...colorTagArgs(s.color, { rgb: false }),
        ],
        notes,
      };
    }
    case 'h265': {
      const deep = l.depth === 16;
      const pixFmt = odd ? (deep ? 'yuv444p10le' : 'yuv444p') : deep ? 'yuv420p10le' : 'yuv420p';
      if (odd)
        notes.push(`odd frame size ${l.width}x${l.height}: H.265 encoded as 4:4:4 to keep every pixel`);
      return {
        pixFmt,
        args: [
          ...yuv(pixFmt),
          '-c:v',
          s.format.encoder,
          '-preset',
          s.preset ?? 'medium',
          '-crf',
          String(s.crf ?? 20),
          '-x265-params',
          'log-level=error',
          '-tag:v',
          'hvc1',
          ...colorTagArgs(s.color, { rgb: false }),
        ],
        notes,
      };
    }
    case 'mkv': {
      // Lossless: store exactly the RGB (or grey) the model produced.
      const pixFmt =
        l.channels === 1 ? (l.depth === 16 ? 'gray16le' : 'gray') : l.depth === 16 ? 'gbrp16le' : 'gbrp';
      return {
        pixFmt,
        args: [
          '-vf',
          `setsar=${formatRational(s.sar)},format=${pixFmt}`,
          '-c:v',
          s.format.encoder,
          '-level',
          '3',
          '-g',
          '1',
          '-slicecrc',
          '1',
          ...colorTagArgs(s.color, { rgb: l.channels === 3 }),
        ],
        notes,
      };
    }
    case 'mov': {
      const pixFmt = 'yuv422p10le';
      return {
        pixFmt,
        args: [
          ...yuv(pixFmt),
          '-c:v',
          s.format.encoder,
          '-profile:v',
          '3',
          '-vendor',
          'apl0',
          ...colorTagArgs(s.color, { rgb: false }),
        ],
        notes,
      };
    }
    case 'png':
    case 'tif':
    case 'tiff-stack': {
      const depth = s.bitDepth ?? l.depth;
      const be = s.format.format === 'png';
      const pixFmt =
        l.channels === 1
          ? depth === 16
            ? be
              ? 'gray16be'
              : 'gray16le'
            : 'gray'
          : depth === 16
            ? be
              ? 'rgb48be'
              : 'rgb48le'
            : 'rgb24';
      const codec = [
        '-c:v',
        s.format.encoder,
        ...(s.format.encoder === 'tiff' ? ['-compression_algo', 'deflate'] : []),
      ];
      return { pixFmt, args: ['-vf', `format=${pixFmt}`, ...codec], notes };
    }
  }
}

export interface SinkTarget {
  /** A video file, or for sequences an image2 pattern such as dir/frame_%06d.png. */
  path: string;
  /** Sequences: the number of the first frame in the pattern. */
  startNumber?: number;
}

/** One ffmpeg encoder fed raw frames on stdin; waits for 'drain' so a slow encoder slows the pipeline, not memory. */
export function openEncoder(
  ffmpeg: string,
  s: EncodeSettings,
  layout: FrameLayout,
  target: SinkTarget,
  signal?: AbortSignal,
): FrameSink & { notes: string[] } {
  const plan = encodePlan(s, layout);
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  args.push(
    '-f',
    'rawvideo',
    '-pix_fmt',
    rawPixFmt(layout),
    '-s',
    `${layout.width}x${layout.height}`,
    '-framerate',
    formatRational(s.fps),
    '-i',
    'pipe:0',
  );
  args.push(...plan.args);
  if (s.format.kind === 'video') {
    if (s.format.container === 'mp4' || s.format.container === 'mov') {
      const ts = String(timescaleFor(s.fps));
      args.push('-video_track_timescale', ts);
      if (s.movieTimescaleOption ?? true) args.push('-movie_timescale', ts);
    }
    args.push(
      '-f',
      s.format.container === 'matroska' ? 'matroska' : s.format.container === 'mov' ? 'mov' : 'mp4',
      target.path,
    );
  } else {
    args.push('-f', 'image2', '-start_number', String(target.startNumber ?? 1), target.path);
  }
  const stderr = new StderrTail();
  const child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  let failure: VideoError | undefined;
  let aborted = false;
  const fail = (why: string): VideoError =>
    (failure ??= new VideoError(
      `encoding ${target.path} failed: ${ioProblemInText(why, target.path) ?? why}`,
      'ENCODE_FAILED',
      target.path,
    ));
  child.on('error', (err) => fail(`cannot run ${ffmpeg}: ${err.message}`));
  child.stdin.on('error', () => {
    // EPIPE: the encoder died; its stderr says why once it has exited.
  });
  const closed = exited(child).then(({ code, signal: sig }) => {
    if (!aborted && code !== 0) fail(stderr.lines() || `ffmpeg exited with ${code ?? sig}`);
  });
  const onAbort = (): void => {
    aborted = true;
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let written = 0;

  return {
    notes: plan.notes,
    get framesWritten() {
      return written;
    },
    async write(frame: Raster) {
      if (failure) throw failure;
      if (!sameLayout(layoutOf(frame), layout)) {
        throw new VideoError(
          `frame ${written + 1} of ${target.path} is ${describeLayout(layoutOf(frame))}, the others ${describeLayout(layout)}: a video needs one frame size`,
          'ENCODE_FAILED',
          target.path,
        );
      }
      if (!child.stdin.write(bytesOf(frame))) {
        // A dead encoder makes 'drain' reject with EPIPE: what matters is why it died (its stderr).
        await Promise.race([once(child.stdin, 'drain'), closed]).catch(() => closed);
      }
      if (!failure && (child.stdin.destroyed || child.exitCode !== null)) {
        await closed;
        fail('ffmpeg stopped reading frames');
      }
      if (failure) throw failure;
      written += 1;
    },
    async finish() {
      child.stdin.end();
      await closed;
      signal?.removeEventListener('abort', onAbort);
      if (failure) throw failure;
    },
    async abort() {
      aborted = true;
      child.kill('SIGKILL');
      await closed;
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** An MP4 time scale that represents every frame duration exactly (30000 for 30000/1001). */
export function timescaleFor(fps: Rational): number {
  let t = fps.num;
  while (t < 10_000) t *= 10;
  return t;
}
