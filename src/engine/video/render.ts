import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Raster } from '../types';
import type { FrameStream } from './decoder';
import { errorMessage, ioProblem, VideoError, type VideoErrorCode } from '../errors';
import { removeStaleTemps } from '../fs/atomic';
import {
  ffmpegCapabilities,
  resolveFfmpeg,
  type FfmpegBinaries,
  type ResolveFfmpegOptions,
} from './ffmpeg-binaries';
import { ChromaSmoother, FlickerMeter, type ChromaSmoothingOptions, type FlickerStats } from './flicker';
import { formatFor, type FormatSpec } from './formats';
import type { EncodeSettings } from './encoder';
import { isImageSequenceInput, isTiffInput, openImageSequence, openTiffStack } from './image-source';
import { lockWorkDir, makeWorkDir, removeWorkDir, tidyFailedWorkDir, writeJournal } from './journal';
import { joinSegments, type StreamReport } from './join';
import { toDepth } from './pixels';
import { checkRenderOptions, pathsFor, planRender } from './plan';
import { pumpFrames } from './pump';
import { formatRational, parseRational, type Rational } from './rational';
import { SegmentWriter } from './segments';
import type { FrameSource } from './source';
import { openVideoSource } from './video-source';
import type { VideoProcessor } from './window';
import { reconcileWorkDir, segmentPath } from './work-folder';

export interface RenderVideoOptions {
  input: string;
  /** A video file; for png/tif sequences a folder or a pattern such as out/frame_%06d.png. */
  output: string;
  /** Default: from the output's extension (see formatFor). */
  format?: string;
  processor: VideoProcessor;
  /**
   * Identifies what the processor does (ops, model ids and versions, render size...). It is part of
   * the resume fingerprint: resuming with a different value is refused instead of mixing two looks.
   */
  processorKey: string;
  crf?: number;
  preset?: string;
  /** PNG/TIFF sample depth; default: what the processor returns. */
  bitDepth?: 8 | 16;
  /** Preview: render only `duration` seconds from `start` (seconds). */
  start?: number;
  duration?: number;
  /** Frame rate for image stacks and sequences (default 24). */
  fps?: number | string;
  /** Resample onto a constant frame rate even when the timestamps look regular. */
  forceCfr?: boolean;
  /** Continue the unfinished render recorded beside the output. */
  resume?: boolean;
  /** Throw away an unfinished render instead of refusing to start. */
  restart?: boolean;
  overwrite?: boolean;
  /** Segment length: the most a kill can lose. Default 10 s of frames. */
  segmentSeconds?: number;
  segmentFrames?: number;
  /** Frames handed to the processor at once, and batches in flight (inference overlaps encoding). */
  batchSize?: number;
  inFlightBatches?: number;
  /** Decoded frames that may wait for the processor before the decoder is paused. */
  queueFrames?: number;
  /** Temporal chroma smoothing (off by default). */
  smoothChroma?: boolean | ChromaSmoothingOptions;
  /** Frames re-processed before the resume point so smoothing resumes from a settled state. */
  smoothingWarmup?: number;
  /** Compute the flicker metric over the output frames of this run. */
  measureFlicker?: boolean;
  /** Stop at the first decoding error or a short file (default). false: conceal damage and accept a short file. */
  strict?: boolean;
  /** Keep the work folder after a successful join (debugging). */
  keepWork?: boolean;
  /** Resolved binaries, or how to find them. */
  ffmpeg?: FfmpegBinaries | ResolveFfmpegOptions;
  signal?: AbortSignal;
  onProgress?: (p: VideoProgress) => void;
  /** Human-readable notes as they happen (resume decisions, conversions). */
  onNote?: (note: string) => void;
}

export interface VideoProgress {
  stage: 'preparing' | 'rendering' | 'joining' | 'done';
  /** Output frames finished, including those from an earlier run that was resumed. */
  framesDone: number;
  framesTotal?: number;
  /** Frames per second in this run, over the last few seconds. */
  fps: number;
  etaSeconds?: number;
  segmentsDone: number;
  /** Frames that were already done when this run started. */
  resumedFrames: number;
}

export interface VideoResult {
  input: string;
  output: string;
  format: string;
  formatLabel: string;
  frames: number;
  width: number;
  height: number;
  fps: string;
  durationSeconds: number;
  /** First output frame this run rendered (0 when nothing was resumed). */
  resumedFromFrame: number;
  framesRendered: number;
  segments: number;
  elapsedMs: number;
  /** Output frames per second of this run, end to end (decode + process + encode). */
  renderFps: number;
  /** Milliseconds spent waiting for the processor (the model), summed over batches. */
  processorMs: number;
  rotation: number;
  rotationApplied: boolean;
  streams: StreamReport;
  notes: string[];
  flicker?: FlickerStats;
  workDir: string;
}

const DEFAULT_FPS: Rational = { num: 24, den: 1 };

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function nonEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length > 0;
  } catch {
    return false;
  }
}

async function openSource(
  bins: FfmpegBinaries,
  input: string,
  format: FormatSpec,
  o: RenderVideoOptions,
  queueFrames: number,
  yuv: boolean,
): Promise<FrameSource> {
  const fps = o.fps !== undefined ? parseRational(String(o.fps)) : undefined;
  if (o.fps !== undefined && !fps) throw new VideoError(`--fps ${o.fps}: not a frame rate`, 'BAD_ARGUMENT');
  if (await isImageSequenceInput(input)) return openImageSequence(input, fps ?? DEFAULT_FPS);
  if (await isTiffInput(input)) {
    if (!(await exists(input))) throw new VideoError(`${input}: file not found`, 'INPUT_NOT_FOUND', input);
    return openTiffStack(input, fps ?? DEFAULT_FPS);
  }
  return openVideoSource(bins, input, {
    autorotate: !format.keepsRotation,
    forceCfr: o.forceCfr,
    strict: o.strict !== false,
    queueFrames,
    signal: o.signal,
    yuv,
  });
}

class Rate {
  private readonly samples: { t: number; frames: number }[] = [];
  add(frames: number): void {
    const t = Date.now();
    this.samples.push({ t, frames });
    while (this.samples.length > 2 && t - this.samples[0].t > 5000) this.samples.shift();
  }
  get fps(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    return b.t > a.t ? ((b.frames - a.frames) * 1000) / (b.t - a.t) : 0;
  }
}

/**
 * Renders a film (or an image stack) through `processor` into `output`, in segments that survive a
 * kill. Frames go decoder → processor → encoder over pipes with bounded queues; nothing but the
 * encoded segments touches the disk. The steps: plan (plan.ts), lock and reconcile the work folder
 * (work-folder.ts), pump frames (pump.ts) into segments (segments.ts), join.
 */
export async function renderVideo(o: RenderVideoOptions): Promise<VideoResult> {
  const started = Date.now();
  const notes: string[] = [];
  const note = (n: string): void => {
    if (!notes.includes(n)) {
      notes.push(n);
      o.onNote?.(n);
    }
  };
  const signal = o.signal;
  const input = resolve(o.input);
  const format = formatFor(o.output, o.format);
  const paths = pathsFor(o.output, format);
  checkRenderOptions(o, paths);

  const bins =
    'ffmpeg' in (o.ffmpeg ?? {}) && 'ffprobe' in (o.ffmpeg ?? {})
      ? (o.ffmpeg as FfmpegBinaries)
      : await resolveFfmpeg(o.ffmpeg as ResolveFfmpegOptions);
  const caps = await ffmpegCapabilities(bins.ffmpeg);
  if (!caps.encoders.has(format.encoder)) {
    throw new VideoError(
      `${bins.ffmpeg} has no ${format.encoder} encoder, needed for ${format.label}; pick another --format or another ffmpeg`,
      'FFMPEG_NOT_FOUND',
      bins.ffmpeg,
    );
  }

  const batchSize = Math.max(1, o.batchSize ?? 4);
  const inFlight = Math.max(1, o.inFlightBatches ?? 2);
  const queueFrames = Math.max(batchSize, o.queueFrames ?? batchSize * 2);
  o.onProgress?.({ stage: 'preparing', framesDone: 0, fps: 0, segmentsDone: 0, resumedFrames: 0 });
  // A processor that only makes chroma keeps H.264/H.265 renders in YUV when nothing on the way
  // needs RGB (smoothing and the flicker meter work on RGB frames).
  const lumaProcessor =
    o.processor.frames === 1 &&
    o.processor.luma &&
    (format.format === 'mp4' || format.format === 'h265') &&
    !o.smoothChroma &&
    !o.measureFlicker
      ? o.processor.luma
      : undefined;
  const source = await openSource(bins, input, format, o, queueFrames, lumaProcessor !== undefined);
  const luma = lumaProcessor && source.yuv ? { process: lumaProcessor, ...source.yuv } : undefined;
  for (const n of source.notes) note(n);
  const plan = planRender({ ...o, windowFrames: o.processor.frames, yuvPath: !!luma }, format, source);
  const { fpsNum, rangeStart, rangeEnd, expectedEnd, framesTotal, smoothing } = plan;
  const inputStat = await source.identity();

  // Output and work folder checks happen before any work, so a mistake costs nothing.
  const outputTaken =
    format.kind === 'sequence' ? await nonEmptyDir(paths.output) : await exists(paths.output);
  if (outputTaken && !o.overwrite) {
    throw new VideoError(
      `${paths.output}: already exists (pass --overwrite to replace it)`,
      'OUTPUT_EXISTS',
      paths.output,
    );
  }
  // One render per output at a time: a second one (the app and the CLI on the same file) would
  // interleave segments. A lock left by a killed process (its pid is gone) is taken over.
  await makeWorkDir(paths.workDir, paths.output);
  const lock = await lockWorkDir(paths.workDir);
  // A join killed by kill -9 or a power cut left its temp file beside the output.
  if (format.kind !== 'sequence') await removeStaleTemps([paths.output]);
  let tidied: Awaited<ReturnType<typeof tidyFailedWorkDir>> | undefined;
  try {
    return await locked();
  } catch (err) {
    // A failure never blocks the next run: half-written files go, and with no finished segment the
    // work folder too (its journal would make the next run ask for --resume or --restart).
    tidied = await tidyFailedWorkDir(paths.workDir);
    throw err;
  } finally {
    await lock.release();
    await tidied?.removeEmpty();
  }

  async function locked(): Promise<VideoResult> {
    const J = await reconcileWorkDir(paths, format, plan, {
      resume: o.resume,
      restart: o.restart,
      ffprobe: bins.ffprobe,
      input: { path: input, size: inputStat.size, mtimeMs: inputStat.mtimeMs },
      note,
    });
    const segPath = (s: Parameters<typeof segmentPath>[2]) => segmentPath(paths.workDir, format, s);

    const resumedFrames = J.segments.reduce((a, s) => a + s.frames, 0);
    const resumeFrame = rangeStart + resumedFrames;
    if (resumedFrames > 0)
      note(`resuming at frame ${resumedFrames} of the range (${J.segments.length} finished segments kept)`);

    let framesDone = resumedFrames;
    let processorMs = 0;
    const rate = new Rate();
    rate.add(0);
    let framesThisRun = 0;
    let lastProgress = 0;
    const progress = (stage: VideoProgress['stage'], force = false): void => {
      if (!o.onProgress) return;
      const now = Date.now();
      if (!force && now - lastProgress < 200) return;
      lastProgress = now;
      const fps = rate.fps;
      const total = framesTotal;
      o.onProgress({
        stage,
        framesDone,
        framesTotal: total,
        fps,
        etaSeconds: total !== undefined && fps > 0 ? Math.max(0, (total - framesDone) / fps) : undefined,
        segmentsDone: J.segments.length,
        resumedFrames,
      });
    };
    /** A failure that says how far the render got and what was kept. */
    const failure = (message: string, code: VideoErrorCode, cause?: unknown): VideoError =>
      new VideoError(
        `${message} (${framesDone}${framesTotal !== undefined ? ` of ${framesTotal}` : ''} frames done; ${J.segments.length ? `${J.segments.length} finished segments kept in ${paths.workDir}, continue with --resume` : 'no finished segment, nothing kept'})`,
        code,
        o.input,
        { framesDone, framesTotal, segmentsKept: J.segments.length, workDir: paths.workDir },
        { cause },
      );

    const encodeSettings = (): EncodeSettings => ({
      format,
      fps: source.fps,
      sar: source.media?.video?.sar ?? { num: 1, den: 1 },
      // An RGB source's range/matrix tags describe RGB, not the YUV we encode to.
      color: source.media?.video
        ? source.media.video.rgb
          ? { ...source.media.video.color, range: undefined, space: undefined }
          : source.media.video.color
        : {},
      sourceHeight: source.media?.video?.height ?? source.layout.height,
      crf: o.crf,
      preset: o.preset,
      movieTimescaleOption: caps.movieTimescaleOption,
      bitDepth: o.bitDepth,
    });
    const writer = new SegmentWriter({
      paths,
      format,
      journal: J,
      segmentFrames: plan.segmentFrames,
      ffmpeg: bins.ffmpeg,
      ffprobe: bins.ffprobe,
      encodeSettings,
      note,
      signal,
      onCommit: () => progress('rendering', true),
    });

    const meter = o.measureFlicker ? new FlickerMeter() : undefined;
    if (!J.complete) {
      // With smoothing, a few frames before the resume point are processed again (not written) so the
      // smoothing state is warm; a 3-frame model also needs the frame before the first one it outputs.
      const warmup = smoothing && resumeFrame > rangeStart ? Math.max(0, o.smoothingWarmup ?? 8) : 0;
      const processFrom = Math.max(rangeStart, resumeFrame - warmup);
      const context = o.processor.frames === 3 ? 1 : 0;
      const decodeFrom = Math.max(0, processFrom - context);
      const emitEnd = rangeEnd ?? Number.POSITIVE_INFINITY;
      const decodeCount = rangeEnd !== undefined ? rangeEnd + context - decodeFrom : undefined;

      let stream: FrameStream | undefined;
      let nextOut = resumeFrame;
      const emit = async (index: number, raster: Raster): Promise<void> => {
        if (index < resumeFrame) return; // smoothing warm-up only
        if (index !== nextOut) throw new Error(`internal: frame ${index} arrived, ${nextOut} expected`);
        nextOut += 1;
        if (o.bitDepth && format.kind !== 'video') raster = toDepth(raster, o.bitDepth);
        meter?.add(raster);
        await writer.write(index - rangeStart, raster);
        framesDone += 1;
        framesThisRun += 1;
        rate.add(framesThisRun);
        if (writer.full) await writer.commit();
        progress('rendering');
      };
      try {
        if (signal?.aborted) throw failure('cancelled', 'CANCELLED');
        stream = await source.open(decodeFrom, decodeCount, signal);
        processorMs = await pumpFrames({
          stream,
          processor: o.processor,
          decodeFrom,
          processFrom,
          emitEnd,
          batchSize,
          inFlight,
          smoother: smoothing ? new ChromaSmoother(smoothing) : undefined,
          luma,
          signal,
          emit,
          failure,
        });

        // The source has ended. A short file is an error unless the caller accepts damage.
        if (signal?.aborted) throw failure('cancelled', 'CANCELLED');
        const produced = nextOut;
        if (expectedEnd !== undefined && o.strict !== false) {
          const tolerance = source.frameCountExact ? 2 : Math.max(2, Math.round(fpsNum / 2));
          if (produced < expectedEnd - tolerance) {
            throw failure(
              `${o.input}: the input ended after frame ${produced} but should have ${expectedEnd} frames (truncated or damaged file)`,
              'TRUNCATED',
            );
          }
        }
        if (produced === resumeFrame && J.segments.length === 0)
          throw failure(`${o.input}: no frames could be decoded`, 'DECODE_FAILED');
        if (expectedEnd !== undefined && produced < expectedEnd)
          note(`input ended after ${produced - rangeStart} of ${expectedEnd - rangeStart} expected frames`);
        await writer.commit();
        J.complete = true;
        await writeJournal(paths.workDir, J);
      } catch (err) {
        await writer.abort();
        if (err instanceof VideoError && err.progress) throw err;
        if (signal?.aborted) throw failure('cancelled', 'CANCELLED', err);
        if (err instanceof VideoError) {
          throw failure(err.message, err.code, err);
        }
        throw failure(inWords(err), 'PROCESS_FAILED', err);
      } finally {
        await stream?.close();
      }
    }

    // Join.
    progress('joining', true);
    const frames = J.segments.reduce((a, s) => a + s.frames, 0);
    if (frames === 0) throw failure('nothing was rendered', 'DECODE_FAILED');
    let streams: StreamReport;
    const rotation = source.media?.video?.rotation ?? 0;
    try {
      streams = await joinSegments({
        ffmpeg: bins.ffmpeg,
        format,
        segments: J.segments.map((s) => ({ path: segPath(s), frames: s.frames })),
        workDir: paths.workDir,
        output: paths.output,
        fps: source.fps,
        source: source.media,
        range:
          o.start !== undefined || o.duration !== undefined
            ? { start: rangeStart / fpsNum, duration: frames / fpsNum }
            : undefined,
        rotation: source.rotationApplied ? 0 : rotation,
        displayRotationOption: caps.displayRotationOption,
        signal,
        clearSequence: Boolean(o.overwrite && outputTaken),
        layout: writer.layout,
        bitDepth: o.bitDepth,
      });
    } catch (err) {
      if (err instanceof VideoError && err.code === 'CANCELLED') throw err;
      if (signal?.aborted) throw failure('cancelled while joining', 'CANCELLED', err);
      throw failure(inWords(err), err instanceof VideoError ? err.code : 'JOIN_FAILED', err);
    }
    for (const n of streams.notes) note(n);
    if (source.media && format.kind !== 'video' && source.media.audio.length)
      note('image output: the audio is not carried over');
    if (!o.keepWork) await removeWorkDir(paths.workDir);
    progress('done', true);

    const elapsedMs = Date.now() - started;
    const first = writer.layout ?? source.layout;
    return {
      input: o.input,
      output: paths.output,
      format: format.format,
      formatLabel: format.label,
      frames,
      width: first.width,
      height: first.height,
      fps: formatRational(source.fps),
      durationSeconds: frames / fpsNum,
      resumedFromFrame: resumedFrames,
      framesRendered: framesThisRun,
      segments: J.segments.length,
      elapsedMs,
      renderFps: framesThisRun / Math.max(0.001, elapsedMs / 1000),
      processorMs,
      rotation,
      rotationApplied: source.rotationApplied,
      streams,
      notes,
      flicker: meter?.stats,
      workDir: paths.workDir,
    };
  }
}

/** A file-system error (a journal or segment write: ENOSPC, EROFS…) in words, naming its path. */
function inWords(err: unknown): string {
  const path = (err as NodeJS.ErrnoException).path;
  return (path ? ioProblem(err, path) : undefined) ?? errorMessage(err);
}
