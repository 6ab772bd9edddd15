import { stat } from 'node:fs/promises';
import { runCommand } from './child';
import { errorMessage, VideoError } from '../errors';
import { parseRational, toNumber, type Rational } from './rational';

export interface ColorInfo {
  primaries?: string;
  transfer?: string;
  space?: string;
  /** 'tv' (limited) or 'pc' (full). */
  range?: string;
}

export interface VideoStreamInfo {
  index: number;
  codec: string;
  /** Coded size, before the display rotation. */
  width: number;
  height: number;
  pixFmt: string;
  /** Bits per component of the decoded picture (8, 10, 12, 16). */
  bitDepth: number;
  /** One luma channel only (gray, gray16le, ya8...). A B&W film stored as yuv420p is not "grey" here. */
  grey: boolean;
  /** Stored as RGB (gbrp, rgb24, bgr0...): no YUV matrix applies when decoding. */
  rgb: boolean;
  /** The container's frame rate (r_frame_rate), the grid the frames sit on. */
  fps: Rational;
  avgFps: Rational;
  /** r_frame_rate and avg_frame_rate disagree: timestamps are irregular. */
  vfr: boolean;
  /** Exact when the container states it or the packets were counted; otherwise duration × fps. */
  frameCount?: number;
  frameCountExact: boolean;
  /** The video stream's own duration in seconds, when known. */
  duration?: number;
  startTime: number;
  /** Degrees as ffprobe reports the display matrix (or the legacy rotate tag): 0, ±90, ±180, ±270. */
  rotation: number;
  sar: Rational;
  color: ColorInfo;
}

export interface AudioStreamInfo {
  index: number;
  codec: string;
  channels: number;
  sampleRate: number;
  language?: string;
}

export interface SubtitleStreamInfo {
  index: number;
  codec: string;
  language?: string;
  /** Picture subtitles (DVD, Blu-ray, DVB) cannot become mov_text. */
  bitmap: boolean;
}

export interface MediaInfo {
  path: string;
  formatName: string;
  /** Container duration (the longest stream), seconds. */
  duration?: number;
  startTime: number;
  size: number;
  video?: VideoStreamInfo;
  audio: AudioStreamInfo[];
  subtitles: SubtitleStreamInfo[];
}

interface PixFmtInfo {
  components: number;
  bitDepth: number;
  rgb: boolean;
}

const pixFmtCache = new Map<string, Map<string, PixFmtInfo>>();

interface RawPixelFormat {
  name: string;
  nb_components: number;
  flags?: { rgb?: number };
  components?: { bit_depth: number }[];
}

/**
 * ffprobe knows every pixel format's depth and layout; asking it beats parsing names like
 * "p010le". The table comes with the first probe (`-show_pixel_formats` beside the streams: one
 * ffprobe run, not two) and is kept per ffprobe binary.
 */
function pixelFormatTable(list: RawPixelFormat[] | undefined): Map<string, PixFmtInfo> {
  const map = new Map<string, PixFmtInfo>();
  for (const f of list ?? []) {
    map.set(f.name, {
      components: f.nb_components,
      bitDepth: Math.max(0, ...(f.components ?? []).map((c) => c.bit_depth)),
      rgb: Boolean(f.flags?.rgb),
    });
  }
  return map;
}

const BITMAP_SUBTITLES = new Set([
  'dvd_subtitle',
  'hdmv_pgs_subtitle',
  'dvb_subtitle',
  'xsub',
  'dvb_teletext',
]);

interface RawStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  bits_per_raw_sample?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  duration?: string;
  start_time?: string;
  sample_aspect_ratio?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_space?: string;
  color_range?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

function num(text: string | undefined): number | undefined {
  if (text === undefined || text === 'N/A') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Matroska keeps per-stream durations as a "HH:MM:SS.nnnnnnnnn" tag. */
function tagDuration(tags: Record<string, string> | undefined): number | undefined {
  const t = tags?.DURATION ?? tags?.duration;
  const m = t && /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(t);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : undefined;
}

const known = (v: string | undefined): string | undefined =>
  v && v !== 'unknown' && v !== 'reserved' ? v : undefined;

export interface ProbeOptions {
  /** Count packets when the container does not state a frame count (demuxes the whole file; no decoding). */
  countFrames?: boolean;
  signal?: AbortSignal;
}

export async function probeMedia(
  ffprobe: string,
  input: string,
  opts: ProbeOptions = {},
): Promise<MediaInfo> {
  let size: number;
  try {
    const s = await stat(input);
    if (!s.isFile()) throw new VideoError(`${input}: not a file`, 'NOT_MEDIA', input);
    size = s.size;
  } catch (err) {
    if (err instanceof VideoError) throw err;
    throw new VideoError(`${input}: file not found`, 'INPUT_NOT_FOUND', input, undefined, { cause: err });
  }
  if (size === 0) throw new VideoError(`${input}: the file is empty`, 'NOT_MEDIA', input);
  const withFormats = !pixFmtCache.has(ffprobe);
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams'];
  if (withFormats) args.push('-show_pixel_formats');
  args.push(input);
  const r = await runCommand(ffprobe, args, opts.signal);
  if (r.code !== 0) {
    const why =
      r.stderr.trim().split('\n').pop()?.replace(`${input}: `, '') || `ffprobe exited with ${r.code}`;
    throw new VideoError(`${input}: not a readable video or audio file (${why})`, 'NOT_MEDIA', input);
  }
  let parsed: {
    format?: { format_name?: string; duration?: string; start_time?: string };
    streams?: RawStream[];
    pixel_formats?: RawPixelFormat[];
  };
  try {
    parsed = JSON.parse(r.stdout);
  } catch (err) {
    throw new VideoError(
      `${input}: ffprobe gave unreadable output (${errorMessage(err)})`,
      'NOT_MEDIA',
      input,
    );
  }
  if (withFormats) pixFmtCache.set(ffprobe, pixelFormatTable(parsed.pixel_formats));
  const streams = parsed.streams ?? [];
  const info: MediaInfo = {
    path: input,
    formatName: parsed.format?.format_name ?? 'unknown',
    duration: num(parsed.format?.duration),
    startTime: num(parsed.format?.start_time) ?? 0,
    size,
    audio: [],
    subtitles: [],
  };
  for (const s of streams) {
    if (s.codec_type === 'audio') {
      info.audio.push({
        index: s.index,
        codec: s.codec_name ?? 'unknown',
        channels: s.channels ?? 0,
        sampleRate: num(s.sample_rate) ?? 0,
        language: s.tags?.language,
      });
    } else if (s.codec_type === 'subtitle') {
      const codec = s.codec_name ?? 'unknown';
      info.subtitles.push({
        index: s.index,
        codec,
        language: s.tags?.language,
        bitmap: BITMAP_SUBTITLES.has(codec),
      });
    }
  }
  // Cover art is a video stream too; a film's picture is the first real one.
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (v) info.video = await videoInfo(ffprobe, input, v, info, opts);
  return info;
}

async function videoInfo(
  ffprobe: string,
  input: string,
  v: RawStream,
  info: MediaInfo,
  opts: ProbeOptions,
): Promise<VideoStreamInfo> {
  const fmts = pixFmtCache.get(ffprobe) ?? new Map<string, PixFmtInfo>();
  const pixFmt = v.pix_fmt ?? 'unknown';
  const pf = fmts.get(pixFmt);
  const bitDepth = num(v.bits_per_raw_sample) ?? pf?.bitDepth ?? 8;
  const grey = pf ? pf.components <= 2 && !pf.rgb : /^(gray|ya|mono)/.test(pixFmt);
  const rFps = parseRational(v.r_frame_rate);
  const avgFps = parseRational(v.avg_frame_rate);
  const fps = rFps ?? avgFps;
  if (!fps || !v.width || !v.height) {
    throw new VideoError(
      `${input}: the video stream has no usable size or frame rate`,
      'NO_VIDEO_STREAM',
      input,
    );
  }
  const vfr = !!avgFps && Math.abs(toNumber(avgFps) / toNumber(fps) - 1) > 0.002;
  const duration = num(v.duration) ?? tagDuration(v.tags);
  let frameCount = num(v.nb_frames);
  let frameCountExact = frameCount !== undefined && frameCount > 0;
  if (!frameCountExact && opts.countFrames !== false) {
    const counted = await runCommand(
      ffprobe,
      [
        '-v',
        'error',
        '-select_streams',
        String(v.index),
        '-count_packets',
        '-show_entries',
        'stream=nb_read_packets',
        '-of',
        'csv=p=0',
        input,
      ],
      opts.signal,
    );
    const n = num(counted.stdout.trim().split(/[\s,]+/)[0]);
    if (counted.code === 0 && n !== undefined && n > 0) {
      frameCount = n;
      frameCountExact = true;
    }
  }
  const rate = toNumber(vfr && avgFps ? avgFps : fps);
  const stated = duration !== undefined ? Math.round(duration * rate) : undefined;
  if (
    frameCountExact &&
    frameCount !== undefined &&
    stated !== undefined &&
    num(v.nb_frames) === undefined &&
    frameCount < stated - Math.max(2, rate / 2)
  ) {
    // Packets were counted, and there are far fewer than the stream's stated duration needs: the
    // file was cut short. Expect the stated length so the render reports the damage.
    frameCount = stated;
    frameCountExact = false;
  } else if (!frameCountExact) {
    const d = duration ?? info.duration;
    frameCount = d !== undefined ? Math.round(d * rate) : undefined;
  }
  let rotation = 0;
  for (const sd of v.side_data_list ?? []) if (typeof sd.rotation === 'number') rotation = sd.rotation;
  if (!rotation && v.tags?.rotate) rotation = Number(v.tags.rotate) || 0;
  return {
    index: v.index,
    codec: v.codec_name ?? 'unknown',
    width: v.width,
    height: v.height,
    pixFmt,
    bitDepth,
    grey,
    rgb: pf?.rgb ?? /^(rgb|bgr|gbr|argb|abgr|0rgb|0bgr)/.test(pixFmt),
    fps,
    avgFps: avgFps ?? fps,
    vfr,
    frameCount,
    frameCountExact,
    duration,
    startTime: num(v.start_time) ?? info.startTime,
    rotation,
    sar: parseRational(v.sample_aspect_ratio, { num: 1, den: 1 }) ?? { num: 1, den: 1 },
    color: {
      primaries: known(v.color_primaries),
      transfer: known(v.color_transfer),
      space: known(v.color_space),
      range: known(v.color_range),
    },
  };
}

/** Quarter turns of the display rotation (0..3). */
export function quarterTurns(rotation: number): number {
  return ((Math.round(rotation / 90) % 4) + 4) % 4;
}
