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
import {
  lockWorkDir,
  makeWorkDir,
  readJournal,
  removeWorkDir,
  tidyFailedWorkDir,
  writeJournal,
  type SegmentRecord,
} from './journal';
import { joinSegments, type StreamReport } from './join';
import { toDepth, type FrameLayout } from './pixels';
import { checkRenderOptions, pathsFor, planRender, type Paths, type RenderPlan } from './plan';
import { pumpFrames, type PumpOptions } from './pump';
import { formatRational, parseRational, type Rational } from './rational';
import { SegmentWriter } from './segments';
import type { FrameSource } from './source';
import { openVideoSource } from './video-source';
import type { VideoProcessor } from './window';
import { reconcileWorkDir, segmentPath, verifiedSegments } from './work-folder';

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
  /**
   * Render the segments elsewhere (the render farm) instead of in this process; the work folder,
   * journal and join stay here. Segments may then finish in any order.
   */
  farm?: SegmentDispatcher;
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
  /** Milliseconds the join took (concatenating the segments, copying audio and subtitles). */
  joinMs: number;
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

/** A segment a farm worker renders: frames counted from the start of the rendered range. */
export interface SegmentTask {
  index: number;
  firstFrame: number;
  /** Frames in it; absent for the last one when the source's frame count is an estimate (to the end). */
  frames?: number;
}

/** What a farm worker hands back for a task: the segments it renamed into the work folder. */
export interface FinishedSegments {
  segments: SegmentRecord[];
  /** The output frames' layout (size, channels, depth). */
  layout?: FrameLayout;
}

/**
 * Renders segments somewhere else (the render farm, src/farm): `run` gets the segments still to do
 * and calls `commit` as they land in the work folder, in any order; the render journals them and
 * joins as it does its own.
 */
export interface SegmentDispatcher {
  run(
    tasks: SegmentTask[],
    ctx: {
      fingerprint: string;
      settings: Record<string, unknown>;
      workDir: string;
      commit(done: FinishedSegments): Promise<void>;
      /** Frames finished so far inside segments still being rendered (progress only). */
      inFlight(frames: number): void;
    },
  ): Promise<void>;
}

/** What a local render and a farm segment share: binaries, the opened source, the plan. */
interface Prepared {
  input: string;
  format: FormatSpec;
  paths: Paths;
  bins: FfmpegBinaries;
  caps: Awaited<ReturnType<typeof ffmpegCapabilities>>;
  source: FrameSource;
  plan: RenderPlan;
  luma: PumpOptions['luma'];
  inputStat: { size: number; mtimeMs: number };
  batchSize: number;
  inFlight: number;
  encodeSettings: () => EncodeSettings;
}

async function prepareRender(o: RenderVideoOptions, note: (n: string) => void): Promise<Prepared> {
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
  const inputStat = await source.identity();

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
  return {
    input,
    format,
    paths,
    bins,
    caps,
    source,
    plan,
    luma,
    inputStat,
    batchSize,
    inFlight,
    encodeSettings,
  };
}

/**
 * Decodes, processes and writes the output frames [from, to) (source frame numbers; `to` absent: to
 * the end) into `writer`, committing each segment as it fills. With smoothing on, `warmup` frames
 * before `from` are processed (not written) so the filter starts settled. Returns the frame after
 * the last one written.
 */
async function renderRange(
  p: Prepared,
  o: RenderVideoOptions,
  writer: SegmentWriter,
  r: {
    from: number;
    to?: number;
    warmup: number;
    /** Each frame before it is written, and after. */
    onFrame?: (raster: Raster) => void;
    onWritten: () => void;
    failure: PumpOptions['failure'];
  },
): Promise<{ next: number; processorMs: number }> {
  const { plan, source, format } = p;
  const processFrom = Math.max(plan.rangeStart, r.from - r.warmup);
  // A 3-frame model also needs the frame before the first one it outputs.
  const context = o.processor.frames === 3 ? 1 : 0;
  const decodeFrom = Math.max(0, processFrom - context);
  const emitEnd = r.to ?? Number.POSITIVE_INFINITY;
  const decodeCount = r.to !== undefined ? r.to + context - decodeFrom : undefined;

  let nextOut = r.from;
  const emit = async (index: number, raster: Raster): Promise<void> => {
    if (index < r.from) return; // smoothing warm-up only
    if (index !== nextOut) throw new Error(`internal: frame ${index} arrived, ${nextOut} expected`);
    nextOut += 1;
    if (o.bitDepth && format.kind !== 'video') raster = toDepth(raster, o.bitDepth);
    r.onFrame?.(raster);
    await writer.write(index - plan.rangeStart, raster);
    r.onWritten();
    if (writer.full) await writer.commit();
  };
  let stream: FrameStream | undefined;
  try {
    stream = await source.open(decodeFrom, decodeCount, o.signal);
    const processorMs = await pumpFrames({
      stream,
      processor: o.processor,
      decodeFrom,
      processFrom,
      emitEnd,
      batchSize: p.batchSize,
      inFlight: p.inFlight,
      smoother: plan.smoothing ? new ChromaSmoother(plan.smoothing) : undefined,
      luma: p.luma,
      signal: o.signal,
      emit,
      failure: r.failure,
    });
    return { next: nextOut, processorMs };
  } finally {
    await stream?.close();
  }
}

/** Frames re-processed before a resume point (or a farm segment) when smoothing is on. */
function warmupFrames(o: RenderVideoOptions, p: Prepared, from: number): number {
  return p.plan.smoothing && from > p.plan.rangeStart ? Math.max(0, o.smoothingWarmup ?? 8) : 0;
}

/**
 * Renders a film (or an image stack) through `processor` into `output`, in segments that survive a
 * kill. Frames go decoder → processor → encoder over pipes with bounded queues; nothing but the
 * encoded segments touches the disk. The steps: plan (plan.ts), lock and reconcile the work folder
 * (work-folder.ts), pump frames (pump.ts) into segments (segments.ts) — or hand the segments to
 * `farm` — then join.
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
  const prepared = await prepareRender(o, note);
  const { input, format, paths, bins, caps, source, plan, inputStat } = prepared;
  const { fpsNum, rangeStart, rangeEnd, expectedEnd, framesTotal } = plan;

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
      anyOrder: o.farm !== undefined,
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
    /** Frames finished inside farm segments not yet committed (progress only). */
    let framesInFlight = 0;
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
      const done = framesDone + framesInFlight;
      o.onProgress({
        stage,
        framesDone: done,
        framesTotal: total,
        fps,
        etaSeconds: total !== undefined && fps > 0 ? Math.max(0, (total - done) / fps) : undefined,
        segmentsDone: J.segments.length,
        resumedFrames,
      });
    };
    /** A failure that says how far the render got and what was kept. */
    const failure = (message: string, code: VideoErrorCode, cause?: unknown): VideoError =>
      new VideoError(
        `${message} (${framesDone}${framesTotal !== undefined ? ` of ${framesTotal}` : ''} frames done; ${J.segments.length ? `${J.segments.length} finished segments kept in ${paths.workDir}, continue with ${o.farm ? 'the same command' : '--resume'}` : 'no finished segment, nothing kept'})`,
        code,
        o.input,
        { framesDone, framesTotal, segmentsKept: J.segments.length, workDir: paths.workDir },
        { cause },
      );

    const writer = new SegmentWriter({
      paths,
      format,
      segmentFrames: plan.segmentFrames,
      ffmpeg: bins.ffmpeg,
      ffprobe: bins.ffprobe,
      encodeSettings: prepared.encodeSettings,
      note,
      signal,
      onSegment: async (record) => {
        J.segments.push(record);
        await writeJournal(paths.workDir, J);
      },
      onCommit: () => progress('rendering', true),
    });
    let layout: FrameLayout | undefined;

    const meter = o.measureFlicker ? new FlickerMeter() : undefined;
    if (!J.complete) {
      try {
        if (signal?.aborted) throw failure('cancelled', 'CANCELLED');
        let produced: number;
        if (o.farm) produced = await farmed(o.farm);
        else {
          const r = await renderRange(prepared, o, writer, {
            from: resumeFrame,
            to: rangeEnd,
            warmup: warmupFrames(o, prepared, resumeFrame),
            onFrame: (raster) => meter?.add(raster),
            onWritten: () => {
              framesDone += 1;
              framesThisRun += 1;
              rate.add(framesThisRun);
              progress('rendering');
            },
            failure,
          });
          processorMs = r.processorMs;
          produced = r.next;
        }

        // The source has ended. A short file is an error unless the caller accepts damage.
        if (signal?.aborted) throw failure('cancelled', 'CANCELLED');
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
        // Farm workers may have renamed segments into place that were not journaled yet (Redis went
        // away before their completion was seen): keep them, so the failure says so and a rerun
        // need not render them again.
        if (o.farm) {
          const found = await verifiedSegments(paths, format, J, { ffprobe: bins.ffprobe, note });
          if (found.length > J.segments.length) {
            framesDone +=
              found.reduce((a, s) => a + s.frames, 0) - J.segments.reduce((a, s) => a + s.frames, 0);
            J.segments = found;
            await writeJournal(paths.workDir, J).catch(() => undefined);
          }
        }
        if (err instanceof VideoError && err.progress) throw err;
        if (signal?.aborted) throw failure('cancelled', 'CANCELLED', err);
        if (err instanceof VideoError) {
          throw failure(err.message, err.code, err);
        }
        throw failure(inWords(err), 'PROCESS_FAILED', err);
      }
    }

    /**
     * The farm renders the segments still missing; they are journaled as they land (in any order).
     * Returns the frame after the last one, once every segment is there and they join up.
     */
    async function farmed(farm: SegmentDispatcher): Promise<number> {
      const segF = plan.segmentFrames;
      const have = new Set(J.segments.map((s) => s.index));
      // The last segment of a source whose frame count is an estimate runs to wherever it ends.
      const known = source.frameCountExact ? framesTotal : undefined;
      const count = framesTotal !== undefined ? Math.max(1, Math.ceil(framesTotal / segF)) : 1;
      const tasks: SegmentTask[] = [];
      for (let index = 0; index < count; index++) {
        if (have.has(index)) continue;
        const firstFrame = index * segF;
        const last = index === count - 1;
        const frames = known !== undefined ? Math.min(segF, known - firstFrame) : last ? undefined : segF;
        tasks.push({ index, firstFrame, ...(frames !== undefined ? { frames } : {}) });
      }
      let chain = Promise.resolve();
      await farm.run(tasks, {
        fingerprint: plan.fingerprint,
        settings: plan.settings,
        workDir: paths.workDir,
        commit: (done) => {
          // One journal write at a time: segments from several workers land together.
          chain = chain.then(async () => {
            layout ??= done.layout;
            for (const s of done.segments) {
              if (J.segments.some((g) => g.index === s.index)) continue;
              J.segments.push(s);
              framesDone += s.frames;
              framesThisRun += s.frames;
            }
            J.segments.sort((a, b) => a.index - b.index);
            await writeJournal(paths.workDir, J);
            rate.add(framesThisRun + framesInFlight);
            progress('rendering', true);
          });
          return chain;
        },
        inFlight: (frames) => {
          framesInFlight = frames;
          rate.add(framesThisRun + framesInFlight);
          progress('rendering');
        },
      });
      await chain;
      framesInFlight = 0;
      // Every segment but the last is full and they follow each other: otherwise the join would
      // silently drop or shift frames.
      let next = 0;
      for (const [i, s] of J.segments.entries()) {
        const last = i === J.segments.length - 1;
        if (s.index !== i || s.firstFrame !== next || (!last && s.frames !== segF)) {
          throw failure(
            `segment ${i} ${s.index !== i ? 'is missing' : `has ${s.frames} of ${segF} frames (the input ended early or is damaged there)`}`,
            'TRUNCATED',
          );
        }
        next += s.frames;
      }
      return rangeStart + next;
    }

    // Join.
    progress('joining', true);
    const joinStarted = Date.now();
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
        layout: writer.layout ?? layout,
        bitDepth: o.bitDepth,
      });
    } catch (err) {
      if (err instanceof VideoError && err.code === 'CANCELLED') throw err;
      if (signal?.aborted) throw failure('cancelled while joining', 'CANCELLED', err);
      throw failure(inWords(err), err instanceof VideoError ? err.code : 'JOIN_FAILED', err);
    }
    const joinMs = Date.now() - joinStarted;
    for (const n of streams.notes) note(n);
    if (source.media && format.kind !== 'video' && source.media.audio.length)
      note('image output: the audio is not carried over');
    if (!o.keepWork) await removeWorkDir(paths.workDir);
    progress('done', true);

    const elapsedMs = Date.now() - started;
    const first = writer.layout ?? layout ?? source.layout;
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
      joinMs,
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

export interface RenderSegmentOptions extends RenderVideoOptions {
  task: SegmentTask;
  /** The coordinator's plan: this machine's must be the same, or the film would mix two renders. */
  fingerprint: string;
  settings: Record<string, unknown>;
  /** Unique to this attempt: two workers may hold one segment after a stall. */
  partTag: string;
  /** Frames of this task written so far. */
  onFrames?: (frames: number) => void;
}

export interface SegmentResult extends FinishedSegments {
  frames: number;
  processorMs: number;
  notes: string[];
}

/**
 * A farm worker's part of a film: renders one segment task of a render whose work folder and
 * journal the coordinator owns (on storage both see), with the same code as a local render, and
 * renames the finished segment into the work folder. The coordinator journals it.
 */
export async function renderSegment(o: RenderSegmentOptions): Promise<SegmentResult> {
  const notes: string[] = [];
  const note = (n: string): void => {
    if (!notes.includes(n)) notes.push(n);
  };
  const p = await prepareRender(o, note);
  const { plan, paths } = p;
  if (plan.fingerprint !== o.fingerprint) {
    const changed = Object.keys({ ...plan.settings, ...o.settings }).filter(
      (k) => JSON.stringify(plan.settings[k]) !== JSON.stringify(o.settings[k]),
    );
    throw new VideoError(
      `${o.input}: this worker plans the film differently from the coordinator (${changed.join(', ') || 'settings'}); use the same Tintype and ffmpeg versions on every machine`,
      'JOURNAL_MISMATCH',
      o.input,
    );
  }
  const stillWanted = async (): Promise<void> => {
    const j = await readJournal(paths.workDir).catch(() => undefined);
    if (j?.fingerprint !== o.fingerprint)
      throw new VideoError(
        `${paths.workDir}: no render with these settings is waiting for segment ${o.task.index} (finished, restarted or removed)`,
        'JOURNAL_MISMATCH',
        paths.workDir,
      );
  };
  await stillWanted();
  const segments: SegmentRecord[] = [];
  const writer = new SegmentWriter({
    paths,
    format: p.format,
    segmentFrames: plan.segmentFrames,
    ffmpeg: p.bins.ffmpeg,
    ffprobe: p.bins.ffprobe,
    encodeSettings: p.encodeSettings,
    note,
    signal: o.signal,
    partTag: o.partTag,
    beforeRename: stillWanted,
    onSegment: async (record) => {
      segments.push(record);
    },
  });
  const from = plan.rangeStart + o.task.firstFrame;
  const to = o.task.frames !== undefined ? from + o.task.frames : plan.rangeEnd;
  let frames = 0;
  const failure = (message: string, code: VideoErrorCode, cause?: unknown): VideoError =>
    new VideoError(`segment ${o.task.index}: ${message}`, code, o.input, undefined, { cause });
  try {
    const r = await renderRange(p, o, writer, {
      from,
      to,
      warmup: warmupFrames(o, p, from),
      onWritten: () => o.onFrames?.(++frames),
      failure,
    });
    await writer.commit();
    return { segments, layout: writer.layout, frames: r.next - from, processorMs: r.processorMs, notes };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** A file-system error (a journal or segment write: ENOSPC, EROFS…) in words, naming its path. */
function inWords(err: unknown): string {
  const path = (err as NodeJS.ErrnoException).path;
  return (path ? ioProblem(err, path) : undefined) ?? errorMessage(err);
}
