import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Raster } from '../types';
import { runCommand } from './child';
import type { FrameStream } from './decoder';
import { errorMessage, VideoError } from '../errors';
import {
  ffmpegCapabilities,
  resolveFfmpeg,
  type FfmpegBinaries,
  type ResolveFfmpegOptions,
} from './ffmpeg-binaries';
import { ChromaSmoother, FlickerMeter, type ChromaSmoothingOptions, type FlickerStats } from './flicker';
import { formatFor, type FormatSpec } from './formats';
import { openEncoder, type EncodeSettings, type FrameSink } from './encoder';
import { isImageSequenceInput, isTiffInput, openImageSequence, openTiffStack } from './image-source';
import {
  clearWorkDir,
  fingerprintOf,
  JOURNAL_NAME,
  LOCK_NAME,
  lockWorkDir,
  readJournal,
  removeWorkDir,
  syncPath,
  writeJournal,
  type Journal,
  type SegmentRecord,
} from './journal';
import { joinSequence, joinTiffStack, joinVideo, type StreamReport } from './join';
import { checkRaster, layoutOf, toDepth, withChroma, type FrameLayout } from './pixels';
import { formatRational, parseRational, toNumber, type Rational } from './rational';
import type { FrameSource } from './source';
import { openVideoSource } from './video-source';
import { SlidingWindow, type FrameWindow, type VideoProcessor } from './window';

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

interface Item {
  index: number;
  frame?: Raster;
  window?: FrameWindow;
}

const DEFAULT_FPS: Rational = { num: 24, den: 1 };

function seq(n: number): string {
  return String(n).padStart(6, '0');
}

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

/** Where the result goes, and where its segments wait until the join. */
interface Paths {
  output: string;
  /** Sequences: folder and file pattern. */
  outDir?: string;
  pattern?: string;
  workDir: string;
}

function pathsFor(output: string, format: FormatSpec): Paths {
  const abs = resolve(output);
  if (format.kind === 'sequence') {
    const hasPattern = /%0?\d*d/.test(basename(abs));
    const outDir = hasPattern ? dirname(abs) : abs;
    const pattern = hasPattern ? basename(abs) : `frame_%06d.${format.ext}`;
    return { output: outDir, outDir, pattern, workDir: `${outDir}.tintype-work` };
  }
  return { output: abs, workDir: `${abs}.tintype-work` };
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

/** ffprobe's packet count for a finished segment file; frames are packets for every codec we write. */
async function countPackets(ffprobe: string, file: string): Promise<number> {
  const r = await runCommand(ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=nb_read_packets',
    '-of',
    'csv=p=0',
    file,
  ]);
  const n = Number(r.stdout.trim().split(/[\s,]+/)[0]);
  return r.code === 0 && Number.isFinite(n) ? n : -1;
}

async function countFiles(dir: string): Promise<number> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.')).length;
  } catch {
    return -1;
  }
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
 * encoded segments touches the disk.
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
  if (input === paths.output)
    throw new VideoError(`${o.output}: the output would overwrite the input`, 'BAD_ARGUMENT', o.output);
  if (o.crf !== undefined && !(o.crf >= 0 && o.crf <= 51))
    throw new VideoError(`--crf ${o.crf}: use 0..51`, 'BAD_ARGUMENT');
  if (o.start !== undefined && !(o.start >= 0))
    throw new VideoError(`--start ${o.start}: use a time in seconds ≥ 0`, 'BAD_ARGUMENT');
  if (o.duration !== undefined && !(o.duration > 0))
    throw new VideoError(`--duration ${o.duration}: use seconds > 0`, 'BAD_ARGUMENT');

  const bins =
    'ffmpeg' in (o.ffmpeg ?? {}) && 'ffprobe' in (o.ffmpeg ?? {})
      ? (o.ffmpeg as FfmpegBinaries)
      : await resolveFfmpeg(o.ffmpeg as ResolveFfmpegOptions);
  const caps = await ffmpegCapabilities(bins.ffmpeg);
  const encoderName = {
    mp4: 'libx264',
    h265: 'libx265',
    mkv: 'ffv1',
    mov: 'prores_ks',
    png: 'png',
    tif: 'tiff',
    'tiff-stack': 'tiff',
  }[format.format];
  if (!caps.encoders.has(encoderName)) {
    throw new VideoError(
      `${bins.ffmpeg} has no ${encoderName} encoder, needed for ${format.label}; pick another --format or another ffmpeg`,
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
  const fpsNum = toNumber(source.fps);

  // The frame range: the whole source, or a preview window.
  const rangeStart = Math.round((o.start ?? 0) * fpsNum);
  if (source.frameCount !== undefined && source.frameCountExact && rangeStart >= source.frameCount) {
    throw new VideoError(
      `${o.input}: --start ${o.start} s is past the end (${source.frameCount} frames)`,
      'BAD_ARGUMENT',
      o.input,
    );
  }
  let rangeEnd: number | undefined =
    o.duration !== undefined ? rangeStart + Math.max(1, Math.round(o.duration * fpsNum)) : undefined;
  if (rangeEnd !== undefined && source.frameCount !== undefined && source.frameCountExact)
    rangeEnd = Math.min(rangeEnd, source.frameCount);
  // Where the source should run out: the preview's end, or the end of the film (an estimate when inexact).
  const expectedEnd =
    rangeEnd !== undefined && source.frameCount !== undefined
      ? Math.min(rangeEnd, source.frameCount)
      : (rangeEnd ?? source.frameCount);
  const framesTotal = expectedEnd !== undefined ? expectedEnd - rangeStart : undefined;
  const segmentFrames = Math.max(1, o.segmentFrames ?? Math.round((o.segmentSeconds ?? 10) * fpsNum));
  const smoothing = o.smoothChroma ? (o.smoothChroma === true ? {} : o.smoothChroma) : undefined;

  // Everything that changes the pixels or the timing of the output; resume refuses a mismatch.
  const settings: Record<string, unknown> = {
    input,
    format: format.format,
    processor: o.processorKey,
    windowFrames: o.processor.frames,
    // Only what the chosen encoder uses: a preset does not change an FFV1 file.
    crf: format.format === 'mp4' || format.format === 'h265' ? (o.crf ?? null) : null,
    preset: format.format === 'mp4' || format.format === 'h265' ? (o.preset ?? null) : null,
    bitDepth: format.kind !== 'video' ? (o.bitDepth ?? null) : null,
    rangeStart,
    rangeEnd: rangeEnd ?? null,
    fps: formatRational(source.fps),
    cfr: o.forceCfr ?? false,
    smoothing: smoothing ?? null,
    segmentFrames,
    rotationApplied: source.rotationApplied,
    // The YUV path's pixels differ from the RGB path's by rounding: do not mix them in one film.
    ...(luma ? { yuvPath: true } : {}),
  };
  const fingerprint = fingerprintOf(settings);
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
  await mkdir(paths.workDir, { recursive: true });
  const lock = await lockWorkDir(paths.workDir);
  try {
    return await locked();
  } finally {
    await lock.release();
  }

  async function locked(): Promise<VideoResult> {
    let journal = await readJournal(paths.workDir).catch(async (err: unknown) => {
      if (o.restart) return undefined;
      throw err;
    });
    if (journal && o.restart) {
      await clearWorkDir(paths.workDir);
      journal = undefined;
    }
    if (!journal) {
      // A work folder without a journal holds no committed segment: nothing to lose.
      await clearWorkDir(paths.workDir);
    }
    if (journal && !o.resume) {
      const done = journal.segments.reduce((s, g) => s + g.frames, 0);
      throw new VideoError(
        `${paths.workDir}: an unfinished render of this output is there (${journal.segments.length} segments, ${done} frames done): pass --resume to continue it or --restart to discard it`,
        'WORK_EXISTS',
        paths.workDir,
      );
    }
    if (journal) {
      const changed: string[] = [];
      if (journal.fingerprint !== fingerprint) {
        for (const k of Object.keys(settings)) {
          if (JSON.stringify(settings[k]) !== JSON.stringify(journal.settings[k])) changed.push(k);
        }
      }
      if (journal.input.size !== inputStat.size || Math.abs(journal.input.mtimeMs - inputStat.mtimeMs) > 1)
        changed.push('input file');
      if (changed.length) {
        throw new VideoError(
          `${paths.workDir}: the unfinished render used different ${changed.join(', ')}; resume with the same settings, or pass --restart`,
          'JOURNAL_MISMATCH',
          paths.workDir,
        );
      }
    } else {
      if (o.resume) note('nothing to resume: starting from the first frame');
      journal = {
        version: 1,
        input: { path: input, size: inputStat.size, mtimeMs: inputStat.mtimeMs },
        output: paths.output,
        format: format.format,
        fingerprint,
        settings,
        segmentFrames,
        segments: [],
        complete: false,
        updated: new Date().toISOString(),
      };
    }
    await mkdir(paths.workDir, { recursive: true });
    const J: Journal = journal;

    // Resume: keep the longest prefix of segments that are really there and complete.
    const segPath = (s: SegmentRecord | number, part = false): string => {
      const index = typeof s === 'number' ? s : s.index;
      const name = `seg-${seq(index)}${part ? '.part' : ''}${format.kind === 'video' ? `.${format.ext}` : ''}`;
      return join(paths.workDir, name);
    };
    const verifySegment = async (s: SegmentRecord): Promise<boolean> => {
      const p = segPath(s);
      const n = format.kind === 'video' ? await countPackets(bins.ffprobe, p) : await countFiles(p);
      return n === s.frames;
    };
    const kept: SegmentRecord[] = [];
    for (const s of J.segments) {
      if (
        s.index !== kept.length ||
        s.firstFrame !== kept.reduce((a, g) => a + g.frames, 0) ||
        !(await verifySegment(s))
      ) {
        note(`segment ${s.index} is missing or incomplete: it and the ones after it are rendered again`);
        break;
      }
      kept.push(s);
    }
    if (kept.length !== J.segments.length) {
      J.segments = kept;
      J.complete = false;
    }
    // Anything in the work folder that the journal does not list (a segment in flight at the kill) goes.
    const listed = new Set([JOURNAL_NAME, LOCK_NAME, ...J.segments.map((s) => basename(segPath(s)))]);
    for (const name of await readdir(paths.workDir)) {
      if (!listed.has(name)) await rm(join(paths.workDir, name), { recursive: true, force: true });
    }
    await writeJournal(paths.workDir, J);

    const resumedFrames = J.segments.reduce((a, s) => a + s.frames, 0);
    const resumeFrame = rangeStart + resumedFrames;
    if (resumedFrames > 0)
      note(`resuming at frame ${resumedFrames} of the range (${J.segments.length} finished segments kept)`);

    let framesDone = resumedFrames;
    let processorMs = 0;
    let outLayout: FrameLayout | undefined;
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
    const failure = (
      message: string,
      code: ConstructorParameters<typeof VideoError>[1],
      cause?: unknown,
    ): VideoError =>
      new VideoError(
        `${message} (${framesDone}${framesTotal !== undefined ? ` of ${framesTotal}` : ''} frames done; ${J.segments.length} finished segments kept in ${paths.workDir}${J.segments.length ? ', continue with --resume' : ''})`,
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
      const smoother = smoothing ? new ChromaSmoother(smoothing) : undefined;

      let stream: FrameStream | undefined;
      let segment: { record: SegmentRecord; sink: FrameSink; path: string } | undefined;
      let nextOut = resumeFrame;
      try {
        if (signal?.aborted) throw failure('cancelled', 'CANCELLED');
        stream = await source.open(decodeFrom, decodeCount, signal);
        const s = stream;
        const window =
          o.processor.frames === 3 ? new SlidingWindow(decodeFrom, processFrom, emitEnd) : undefined;
        let decodeIndex = decodeFrom;
        const items = async function* (): AsyncGenerator<Item> {
          for (;;) {
            const f = await s.next();
            if (!f) break;
            const index = decodeIndex++;
            if (window) for (const w of window.push(f)) yield { index: w.index, window: w };
            else if (index >= processFrom && index < emitEnd) yield { index, frame: f };
          }
          if (window) for (const w of window.end()) yield { index: w.index, window: w };
        };

        const commitSegment = async (): Promise<void> => {
          const seg = segment;
          if (!seg) return;
          segment = undefined;
          await seg.sink.finish();
          const finalPath = segPath(seg.record);
          const actual =
            format.kind === 'video' ? await countPackets(bins.ffprobe, seg.path) : await countFiles(seg.path);
          if (actual !== seg.record.frames) {
            throw new VideoError(
              `${seg.path}: segment holds ${actual} frames, ${seg.record.frames} were written`,
              'ENCODE_FAILED',
              seg.path,
            );
          }
          await syncPath(seg.path);
          await rename(seg.path, finalPath);
          J.segments.push(seg.record);
          await writeJournal(paths.workDir, J);
          progress('rendering', true);
        };

        const emit = async (index: number, raster: Raster): Promise<void> => {
          if (index < resumeFrame) return; // smoothing warm-up only
          if (index !== nextOut) throw new Error(`internal: frame ${index} arrived, ${nextOut} expected`);
          nextOut += 1;
          if (o.bitDepth && format.kind !== 'video') raster = toDepth(raster, o.bitDepth);
          meter?.add(raster);
          const rel = index - rangeStart;
          if (!segment) {
            const segIndex = Math.floor(rel / segmentFrames);
            const record: SegmentRecord = {
              index: segIndex,
              firstFrame: rel,
              frames: 0,
              name: basename(segPath(segIndex)),
            };
            const path = segPath(segIndex, true);
            await rm(path, { recursive: true, force: true });
            const layout = layoutOf(raster);
            outLayout ??= layout;
            let target: { path: string; startNumber?: number };
            if (format.kind === 'video') target = { path };
            else {
              await mkdir(path, { recursive: true });
              target = {
                path: join(
                  path,
                  format.kind === 'stack' ? `page_%06d.${format.ext}` : (paths.pattern as string),
                ),
                startNumber: rel + 1,
              };
            }
            const sink = openEncoder(bins.ffmpeg, encodeSettings(), layout, target, signal);
            for (const n of sink.notes) note(n);
            segment = { record, sink, path };
          }
          await segment.sink.write(raster);
          segment.record.frames += 1;
          framesDone += 1;
          framesThisRun += 1;
          rate.add(framesThisRun);
          if (segment.record.frames === segmentFrames) await commitSegment();
          progress('rendering');
        };

        const lumaBatch = async (frames: Raster[]): Promise<Raster[]> => {
          const l = luma!;
          const planes = await l.process(
            frames.map((f) => ({
              width: f.width,
              height: f.height,
              luma: (f.data as Uint8Array).subarray(0, f.width * f.height),
              matrix: l.matrix,
              range: l.range,
            })),
          );
          if (!Array.isArray(planes) || planes.length !== frames.length)
            throw new Error(
              `the processor returned ${Array.isArray(planes) ? planes.length : 'no'} chroma planes for a batch of ${frames.length}`,
            );
          return frames.map((f, i) => withChroma(f, planes[i]));
        };

        const run = async (batch: Item[]): Promise<Raster[]> => {
          const t0 = Date.now();
          const out =
            o.processor.frames === 3
              ? await o.processor.process(batch.map((b) => b.window as FrameWindow))
              : luma
                ? await lumaBatch(batch.map((b) => b.frame as Raster))
                : await o.processor.process(batch.map((b) => b.frame as Raster));
          processorMs += Date.now() - t0;
          if (!Array.isArray(out) || out.length !== batch.length) {
            throw new Error(
              `the processor returned ${Array.isArray(out) ? out.length : 'no'} frames for a batch of ${batch.length}`,
            );
          }
          return out;
        };

        const it = items();
        const pending: { batch: Item[]; result: Promise<Raster[]> }[] = [];
        let exhausted = false;
        for (;;) {
          while (!exhausted && pending.length < inFlight) {
            const batch: Item[] = [];
            while (batch.length < batchSize) {
              if (signal?.aborted) throw failure('cancelled', 'CANCELLED');
              const r = await it.next();
              if (r.done) {
                exhausted = true;
                break;
              }
              batch.push(r.value);
            }
            if (batch.length) {
              const result = run(batch);
              result.catch(() => undefined); // awaited in order below
              pending.push({ batch, result });
            }
          }
          const head = pending.shift();
          if (!head) break;
          let outs: Raster[];
          try {
            outs = await head.result;
          } catch (err) {
            throw failure(
              `processing frame ${head.batch[0].index + 1} failed: ${errorMessage(err)}`,
              'PROCESS_FAILED',
              err,
            );
          }
          for (let i = 0; i < outs.length; i++) {
            if (signal?.aborted) throw failure('cancelled', 'CANCELLED');
            const idx = head.batch[i].index;
            let r = outs[i];
            try {
              checkRaster(r, `processed frame ${idx + 1}`);
            } catch (err) {
              throw failure(errorMessage(err), 'PROCESS_FAILED', err);
            }
            if (smoother) r = smoother.apply(r);
            await emit(idx, r);
          }
        }

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
        await commitSegment();
        J.complete = true;
        await writeJournal(paths.workDir, J);
      } catch (err) {
        if (segment) {
          await segment.sink.abort().catch(() => undefined);
          await rm(segment.path, { recursive: true, force: true }).catch(() => undefined);
        }
        if (err instanceof VideoError && err.progress) throw err;
        if (signal?.aborted) throw failure('cancelled', 'CANCELLED', err);
        if (err instanceof VideoError) {
          throw failure(err.message, err.code, err);
        }
        throw failure(errorMessage(err), 'PROCESS_FAILED', err);
      } finally {
        await stream?.close();
      }
    }

    // Join.
    progress('joining', true);
    const segments = J.segments.map((s) => segPath(s));
    const frames = J.segments.reduce((a, s) => a + s.frames, 0);
    if (frames === 0) throw failure('nothing was rendered', 'DECODE_FAILED');
    let streams: StreamReport = { audio: [], subtitles: [], notes: [] };
    const rotation = source.media?.video?.rotation ?? 0;
    try {
      // Files are replaced by the final rename; a frame folder is emptied first so no stale frames stay.
      if (o.overwrite && outputTaken && format.kind === 'sequence')
        await rm(paths.output, { recursive: true, force: true });
      if (format.kind === 'video') {
        const range =
          o.start !== undefined || o.duration !== undefined
            ? { start: rangeStart / fpsNum, duration: frames / fpsNum }
            : undefined;
        streams = await joinVideo({
          ffmpeg: bins.ffmpeg,
          format,
          segments: J.segments.map((s) => ({ path: segPath(s), frames: s.frames })),
          workDir: paths.workDir,
          output: paths.output,
          fps: source.fps,
          source: source.media,
          range,
          rotation: source.rotationApplied ? 0 : rotation,
          displayRotationOption: caps.displayRotationOption,
          signal,
        });
      } else if (format.kind === 'sequence') {
        await joinSequence(segments, paths.output);
      } else {
        const pages: string[] = [];
        for (const dir of segments) for (const n of (await readdir(dir)).sort()) pages.push(join(dir, n));
        const layout = outLayout ?? (await pageLayout(pages[0]));
        await joinTiffStack(pages, paths.output, { ...layout, depth: o.bitDepth ?? layout.depth });
      }
    } catch (err) {
      if (err instanceof VideoError && err.code === 'CANCELLED') throw err;
      if (signal?.aborted) throw failure('cancelled while joining', 'CANCELLED', err);
      throw failure(errorMessage(err), err instanceof VideoError ? err.code : 'JOIN_FAILED', err);
    }
    for (const n of streams.notes) note(n);
    if (source.media && format.kind !== 'video' && source.media.audio.length)
      note('image output: the audio is not carried over');
    if (!o.keepWork) await removeWorkDir(paths.workDir);
    progress('done', true);

    const elapsedMs = Date.now() - started;
    const first = outLayout ?? source.layout;
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

/** The layout of a page written by an earlier run (when this run rendered nothing itself). */
async function pageLayout(file: string): Promise<FrameLayout> {
  const sharp = (await import('sharp')).default;
  const m = await sharp(file).metadata();
  return {
    width: m.width ?? 0,
    height: m.height ?? 0,
    channels: (m.channels ?? 3) >= 3 ? 3 : 1,
    depth: m.depth === 'ushort' ? 16 : 8,
  };
}
