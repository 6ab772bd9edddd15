import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { runCommand } from './child';
import { tempPathFor } from '../fs/atomic';
import { errorMessage, ioProblem, ioProblemInText, VideoError } from '../errors';
import { audioCopyable, subtitlePlan, type FormatSpec } from './formats';
import { syncPath } from './journal';
import type { MediaInfo } from './probe';
import { timescaleFor } from './encoder';
import type { FrameLayout } from './pixels';
import type { Rational } from './rational';

export interface StreamReport {
  audio: { index: number; codec: string; action: 'copied' | 'aac' }[];
  subtitles: { index: number; codec: string; action: 'copied' | 'mov_text' | 'srt' | 'dropped' }[];
  notes: string[];
}

export interface JoinVideoOptions {
  ffmpeg: string;
  format: FormatSpec;
  segments: { path: string; frames: number }[];
  workDir: string;
  /** The finished file; written to a temp name beside it and renamed. */
  output: string;
  fps: Rational;
  /** Source whose audio and subtitles are carried over (absent for image stacks). */
  source?: MediaInfo;
  /** Time range of the source that was rendered (preview); undefined for the whole film. */
  range?: { start: number; duration: number };
  /** Display rotation to restore on the output (already applied to the pixels when 0). */
  rotation: number;
  /** ffmpeg ≥ 6.1: set the rotation with -display_rotation instead of the legacy rotate tag. */
  displayRotationOption?: boolean;
  signal?: AbortSignal;
}

/**
 * The concat demuxer's list. Each file's exact duration is stated: otherwise the demuxer offsets the
 * next file by the container's rounded duration (MP4 headers say 0.835 s for 25 frames at
 * 30000/1001), and every join would add a small gap.
 */
function concatList(segments: { path: string; frames: number }[], fps: Rational): string {
  return (
    segments
      .map((s) => {
        // Quoting: single quotes, with ' written as '\''.
        const file = `file '${s.path.replace(/'/g, "'\\''")}'`;
        return `${file}\nduration ${((s.frames * fps.den) / fps.num).toFixed(9)}`;
      })
      .join('\n') + '\n'
  );
}

export function streamPlan(o: Pick<JoinVideoOptions, 'format' | 'source'>): StreamReport {
  const report: StreamReport = { audio: [], subtitles: [], notes: [] };
  const container = o.format.container;
  if (!o.source || !container) return report;
  for (const a of o.source.audio) {
    const copy = audioCopyable(container, a.codec);
    report.audio.push({ index: a.index, codec: a.codec, action: copy ? 'copied' : 'aac' });
    if (!copy)
      report.notes.push(
        `audio stream ${a.index} (${a.codec}) cannot go into ${o.format.ext.toUpperCase()} as it is: re-encoded to AAC`,
      );
  }
  for (const s of o.source.subtitles) {
    const plan = subtitlePlan(container, s.codec, s.bitmap);
    const action = plan === null ? 'dropped' : plan === 'copy' ? 'copied' : plan;
    report.subtitles.push({ index: s.index, codec: s.codec, action });
    if (plan === null)
      report.notes.push(
        `subtitle stream ${s.index} (${s.codec}) cannot be stored in ${o.format.ext.toUpperCase()}: dropped (use --format mkv to keep it)`,
      );
    else if (plan !== 'copy')
      report.notes.push(
        `subtitle stream ${s.index} (${s.codec}) converted to ${plan} (text kept, styling may be lost)`,
      );
  }
  return report;
}

/**
 * Joins the finished segments with the concat demuxer (no re-encoding) and muxes the source's audio
 * and subtitles into the same pass, with the source's global metadata and, where the container
 * carries it, its rotation flag.
 */
export async function joinVideo(o: JoinVideoOptions): Promise<StreamReport> {
  const report = streamPlan(o);
  const list = join(o.workDir, 'concat.txt');
  await writeFile(list, concatList(o.segments, o.fps));
  const tmp = tempPathFor(o.output);
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  const src = o.source;
  // Keep the picture where it was relative to the sound: the source's video may start after its audio.
  const videoOffset = src?.video && !o.range ? Math.max(0, src.video.startTime - src.startTime) : 0;
  if (videoOffset > 0) args.push('-itsoffset', videoOffset.toFixed(6));
  // ffmpeg 6.1 dropped the rotate tag in favour of an input option taking the same angle ffprobe reports.
  if (o.rotation && o.displayRotationOption) args.push('-display_rotation:v:0', String(o.rotation));
  args.push('-f', 'concat', '-safe', '0', '-i', list);
  const withStreams =
    !!src && (report.audio.length > 0 || report.subtitles.some((s) => s.action !== 'dropped'));
  if (src && withStreams) {
    if (o.range) args.push('-ss', o.range.start.toFixed(6), '-t', o.range.duration.toFixed(6));
    args.push('-i', src.path);
  }
  args.push('-map', '0:v:0');
  if (src && withStreams) {
    for (const a of report.audio) args.push('-map', `1:${a.index}`);
    for (const s of report.subtitles) if (s.action !== 'dropped') args.push('-map', `1:${s.index}`);
    args.push('-map_metadata', '1');
    if (!o.range) args.push('-map_chapters', '1');
  }
  args.push('-c', 'copy');
  // ffmpeg before 6 calls FLAC in MP4 experimental; the stream is still copied untouched.
  if (o.format.container === 'mp4' && report.audio.some((a) => a.action === 'copied' && a.codec === 'flac'))
    args.push('-strict', 'experimental');
  report.audio.forEach((a, i) => {
    if (a.action === 'aac') args.push(`-c:a:${i}`, 'aac', `-b:a:${i}`, '192k');
  });
  report.subtitles
    .filter((s) => s.action !== 'dropped')
    .forEach((s, i) => {
      if (s.action === 'mov_text' || s.action === 'srt') args.push(`-c:s:${i}`, s.action);
    });
  if (o.rotation && !o.displayRotationOption)
    args.push('-metadata:s:v:0', `rotate=${normaliseRotate(o.rotation)}`);
  if (o.format.container === 'mp4' || o.format.container === 'mov') {
    args.push('-video_track_timescale', String(timescaleFor(o.fps)), '-movflags', '+faststart');
  }
  args.push(
    '-f',
    o.format.container === 'matroska' ? 'matroska' : o.format.container === 'mov' ? 'mov' : 'mp4',
    tmp,
  );
  try {
    const r = await runCommand(o.ffmpeg, args, o.signal);
    if (r.code !== 0) {
      throw new VideoError(
        `${o.output}: joining ${o.segments.length} segments failed: ${ioProblemInText(r.stderr, o.output) ?? r.stderr.trim().split('\n').slice(-4).join(' | ')}`,
        'JOIN_FAILED',
        o.output,
      );
    }
    await syncPath(tmp);
    await rename(tmp, o.output);
    await syncPath(dirname(o.output));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return report;
}

/** ffmpeg ≤ 6.0 sets the display matrix from a "rotate" tag; with ffmpeg 5.1's ffprobe, tag 270 reads back as -90. */
function normaliseRotate(rotation: number): number {
  return ((Math.round(rotation) % 360) + 360) % 360;
}

/** Moves the frames of every finished segment folder into the output folder (renames, no copies). */
export async function joinSequence(segmentDirs: string[], outputDir: string): Promise<number> {
  await mkdir(outputDir, { recursive: true });
  let moved = 0;
  for (const dir of segmentDirs) {
    for (const name of (await readdir(dir)).sort()) {
      await rename(join(dir, name), join(outputDir, name));
      moved += 1;
    }
  }
  await syncPath(outputDir);
  return moved;
}

/**
 * Builds one multi-page TIFF from the page files of every segment, in order. sharp's `join` would
 * flatten 16-bit pages to 8-bit RGB, so the pages are stacked into one tall raw image with a page
 * height instead: exact at 16 bits, at the cost of holding the whole stack in memory once (a
 * 100-page 1024² 16-bit stack is 200 MB). For larger stacks, write a TIFF sequence.
 */
export async function joinTiffStack(
  pageFiles: string[],
  output: string,
  layout: { width: number; height: number; channels: 1 | 3; depth: 8 | 16 },
): Promise<void> {
  const tmp = tempPathFor(output, '.tif');
  const pageBytes = layout.width * layout.height * layout.channels * (layout.depth / 8);
  try {
    const all = new Uint8Array(pageBytes * pageFiles.length);
    for (let i = 0; i < pageFiles.length; i++) {
      let img = sharp(pageFiles[i], { limitInputPixels: false });
      if (layout.channels === 1) img = img.toColourspace(layout.depth === 16 ? 'grey16' : 'b-w');
      else
        img =
          layout.depth === 16
            ? img.pipelineColourspace('rgb16').toColourspace('rgb16')
            : img.toColourspace('srgb');
      const { data, info } = await img
        .raw({ depth: layout.depth === 16 ? 'ushort' : 'uchar' })
        .toBuffer({ resolveWithObject: true });
      if (data.byteLength !== pageBytes) {
        throw new Error(
          `${pageFiles[i]} is ${info.width}x${info.height}x${info.channels}, not ${layout.width}x${layout.height}x${layout.channels}`,
        );
      }
      all.set(data, i * pageBytes);
    }
    const raw = layout.depth === 16 ? new Uint16Array(all.buffer) : all;
    let img = sharp(raw, {
      raw: {
        width: layout.width,
        height: layout.height * pageFiles.length,
        channels: layout.channels,
        pageHeight: layout.height,
      },
      limitInputPixels: false,
    });
    if (layout.channels === 1) img = img.toColourspace(layout.depth === 16 ? 'grey16' : 'b-w');
    else if (layout.depth === 16) img = img.pipelineColourspace('rgb16').toColourspace('rgb16');
    await img.tiff({ compression: 'deflate', predictor: 'horizontal' }).toFile(tmp);
    await syncPath(tmp);
    await rename(tmp, output);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new VideoError(
      `${output}: writing the multi-page TIFF failed: ${ioProblem(err, output) ?? ioProblemInText(errorMessage(err), output) ?? errorMessage(err)}`,
      'JOIN_FAILED',
      output,
      undefined,
      { cause: err },
    );
  }
}

/** Joins a render's finished segments into its output, whatever the format's kind. */
export async function joinSegments(
  o: JoinVideoOptions & {
    /** Empty a sequence's folder first (when overwriting) so no stale frames stay; files are replaced by the final rename. */
    clearSequence: boolean;
    /** The output's frame layout when this run wrote frames (else read from the first page). */
    layout?: FrameLayout;
    bitDepth?: 8 | 16;
  },
): Promise<StreamReport> {
  if (o.format.kind === 'video') return joinVideo(o);
  const none: StreamReport = { audio: [], subtitles: [], notes: [] };
  if (o.format.kind === 'sequence') {
    if (o.clearSequence) await rm(o.output, { recursive: true, force: true });
    await joinSequence(
      o.segments.map((s) => s.path),
      o.output,
    );
    return none;
  }
  const pages: string[] = [];
  for (const s of o.segments) for (const n of (await readdir(s.path)).sort()) pages.push(join(s.path, n));
  const layout = o.layout ?? (await pageLayout(pages[0]));
  await joinTiffStack(pages, o.output, { ...layout, depth: o.bitDepth ?? layout.depth });
  return none;
}

/** The layout of a page written by an earlier run (when this run rendered nothing itself). */
async function pageLayout(file: string): Promise<FrameLayout> {
  const m = await sharp(file).metadata();
  return {
    width: m.width ?? 0,
    height: m.height ?? 0,
    channels: (m.channels ?? 3) >= 3 ? 3 : 1,
    depth: m.depth === 'ushort' ? 16 : 8,
  };
}
