import { basename, dirname, resolve } from 'node:path';
import { VideoError } from '../errors';
import type { ChromaSmoothingOptions } from './flicker';
import type { FormatSpec } from './formats';
import { fingerprintOf } from './journal';
import { formatRational, toNumber, type Rational } from './rational';
import { workDirFor } from './journal';

/**
 * The pure part of a film render: what the options ask for, checked, and what follows from them and
 * the source (frame range, segment length, the settings fingerprint). No files are touched here.
 */

/** The options the plan reads (a subset of RenderVideoOptions). */
export interface PlanOptions {
  input: string;
  output: string;
  processorKey: string;
  /** Frames the processor reads at once (1, or 3 for a sliding window). */
  windowFrames: 1 | 3;
  crf?: number;
  preset?: string;
  bitDepth?: 8 | 16;
  start?: number;
  duration?: number;
  forceCfr?: boolean;
  segmentSeconds?: number;
  segmentFrames?: number;
  smoothChroma?: boolean | ChromaSmoothingOptions;
  /** Frames stay in YUV end to end (a colorize-only H.264/H.265 render). */
  yuvPath?: boolean;
}

/** Where the result goes, and where its segments wait until the join. */
export interface Paths {
  output: string;
  /** Sequences: folder and file pattern. */
  outDir?: string;
  pattern?: string;
  workDir: string;
}

export function pathsFor(output: string, format: FormatSpec): Paths {
  const abs = resolve(output);
  if (format.kind === 'sequence') {
    const hasPattern = /%0?\d*d/.test(basename(abs));
    const outDir = hasPattern ? dirname(abs) : abs;
    const pattern = hasPattern ? basename(abs) : `frame_%06d.${format.ext}`;
    return { output: outDir, outDir, pattern, workDir: workDirFor(outDir) };
  }
  return { output: abs, workDir: workDirFor(abs) };
}

/** Checks what can be checked before anything is opened: a mistake costs nothing. */
export function checkRenderOptions(
  o: Pick<PlanOptions, 'input' | 'output' | 'crf' | 'start' | 'duration'>,
  paths: Paths,
): void {
  if (resolve(o.input) === paths.output)
    throw new VideoError(`${o.output}: the output would overwrite the input`, 'BAD_ARGUMENT', o.output);
  if (o.crf !== undefined && !(o.crf >= 0 && o.crf <= 51))
    throw new VideoError(`--crf ${o.crf}: use 0..51`, 'BAD_ARGUMENT');
  if (o.start !== undefined && !(o.start >= 0))
    throw new VideoError(`--start ${o.start}: use a time in seconds ≥ 0`, 'BAD_ARGUMENT');
  if (o.duration !== undefined && !(o.duration > 0))
    throw new VideoError(`--duration ${o.duration}: use seconds > 0`, 'BAD_ARGUMENT');
}

/** What the plan needs to know about the opened source. */
export interface SourceFacts {
  fps: Rational;
  frameCount?: number;
  frameCountExact: boolean;
  rotationApplied: boolean;
}

export interface RenderPlan {
  fpsNum: number;
  /** First source frame of the range, and the end (exclusive) when a preview asks for one. */
  rangeStart: number;
  rangeEnd?: number;
  /** Where the source should run out: the preview's end, or the end of the film (an estimate when inexact). */
  expectedEnd?: number;
  framesTotal?: number;
  segmentFrames: number;
  smoothing?: ChromaSmoothingOptions;
  /** Everything that changes the pixels or the timing of the output; resume refuses a mismatch. */
  settings: Record<string, unknown>;
  fingerprint: string;
}

export function planRender(o: PlanOptions, format: FormatSpec, source: SourceFacts): RenderPlan {
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
  const expectedEnd =
    rangeEnd !== undefined && source.frameCount !== undefined
      ? Math.min(rangeEnd, source.frameCount)
      : (rangeEnd ?? source.frameCount);
  const framesTotal = expectedEnd !== undefined ? expectedEnd - rangeStart : undefined;
  const segmentFrames = Math.max(1, o.segmentFrames ?? Math.round((o.segmentSeconds ?? 10) * fpsNum));
  const smoothing = o.smoothChroma ? (o.smoothChroma === true ? {} : o.smoothChroma) : undefined;

  const lossy = format.format === 'mp4' || format.format === 'h265';
  const settings: Record<string, unknown> = {
    input: resolve(o.input),
    format: format.format,
    processor: o.processorKey,
    windowFrames: o.windowFrames,
    // Only what the chosen encoder uses: a preset does not change an FFV1 file.
    crf: lossy ? (o.crf ?? null) : null,
    preset: lossy ? (o.preset ?? null) : null,
    bitDepth: format.kind !== 'video' ? (o.bitDepth ?? null) : null,
    rangeStart,
    rangeEnd: rangeEnd ?? null,
    fps: formatRational(source.fps),
    cfr: o.forceCfr ?? false,
    smoothing: smoothing ?? null,
    segmentFrames,
    rotationApplied: source.rotationApplied,
    // The YUV path's pixels differ from the RGB path's by rounding: do not mix them in one film.
    ...(o.yuvPath ? { yuvPath: true } : {}),
  };
  return {
    fpsNum,
    rangeStart,
    rangeEnd,
    expectedEnd,
    framesTotal,
    segmentFrames,
    smoothing,
    settings,
    fingerprint: fingerprintOf(settings),
  };
}
