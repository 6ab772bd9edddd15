import { swsMatrix, swsRange } from './color';
import { openDecoder, verifySeek } from './decoder';
import { VideoError } from '../errors';
import { ffmpegCapabilities, type FfmpegBinaries } from './ffmpeg-binaries';
import type { FrameLayout } from './pixels';
import { probeMedia, quarterTurns, type MediaInfo } from './probe';
import { formatRational, toNumber, type Rational } from './rational';
import { fileIdentity, type FrameSource } from './source';

export interface VideoSourceOptions {
  /** Turn frames upright (the output cannot carry a rotation flag). */
  autorotate: boolean;
  /** Resample onto a constant frame rate even if the timestamps look regular. */
  forceCfr?: boolean;
  /** Stop at the first decoding error (default) instead of concealing damage. */
  strict: boolean;
  queueFrames: number;
  signal?: AbortSignal;
  /** Deliver 8-bit 4:2:0 (or grey) films in their own YUV planes when their format allows it. */
  yuv?: boolean;
}

export async function openVideoSource(
  bins: FfmpegBinaries,
  input: string,
  o: VideoSourceOptions,
): Promise<FrameSource> {
  const media: MediaInfo = await probeMedia(bins.ffprobe, input, { signal: o.signal });
  const { fpsModeOption } = await ffmpegCapabilities(bins.ffmpeg);
  const v = media.video;
  if (!v) {
    const what = media.audio.length ? 'an audio-only file' : 'a file without a video stream';
    throw new VideoError(
      `${input}: ${what} (streams: ${describeStreams(media)}); there is no picture to process`,
      'NO_VIDEO_STREAM',
      input,
    );
  }
  const notes: string[] = [];
  const cfr = v.vfr || !!o.forceCfr;
  // The constant rate for irregular input: the container's base rate when it is a real frame rate
  // (gaps become repeated frames, nothing is dropped), else the average (r_frame_rate can be 90000).
  const fps: Rational = v.vfr && toNumber(v.fps) > 120 ? v.avgFps : v.fps;
  if (cfr) {
    notes.push(
      `variable frame rate input (r_frame_rate ${formatRational(v.fps)}, average ${formatRational(v.avgFps)}): converted to constant ${formatRational(fps)} fps (frames duplicated or dropped to keep timing)`,
    );
  }
  const turned = o.autorotate && quarterTurns(v.rotation) % 2 === 1;
  if (o.autorotate && v.rotation)
    notes.push(
      `rotation ${v.rotation}° applied to the pixels: the output format cannot carry a rotation flag`,
    );
  const layout: FrameLayout = {
    width: turned ? v.height : v.width,
    height: turned ? v.width : v.height,
    channels: v.grey ? 1 : 3,
    depth: v.bitDepth > 8 ? 16 : 8,
  };
  // The YUV path takes planes as they are decoded: 8-bit 4:2:0 (yuvj420p is the same layout in full
  // range) or 8-bit grey, and even sizes for 4:2:0 out; anything else would need a conversion anyway.
  const yuv =
    o.yuv &&
    (v.pixFmt === 'yuv420p' || v.pixFmt === 'yuvj420p' || v.pixFmt === 'gray') &&
    layout.width % 2 === 0 &&
    layout.height % 2 === 0;
  if (yuv && v.pixFmt !== 'gray') layout.planar = 'yuv420p';
  // A resampled (VFR) stream has no stable seek target: its frames are reached by decoding from the start.
  let seekable = !cfr;
  return {
    kind: 'video',
    path: input,
    layout,
    fps,
    frameCount: v.frameCount,
    frameCountExact: v.frameCountExact && !cfr,
    media,
    rotationApplied: o.autorotate,
    ...(yuv ? { yuv: { matrix: swsMatrix(v.color.space, v.height), range: swsRange(v.color.range) } } : {}),
    notes,
    identity: () => fileIdentity(input),
    async open(from, max, signal) {
      let seek: 'accurate' | 'trim' = 'trim';
      if (from > 0 && seekable) {
        const check = await verifySeek(bins.ffmpeg, input, v, media.startTime, from, fps, signal);
        if (check.ok) seek = 'accurate';
        else {
          seekable = false;
          notes.push(
            `seeking to frame ${from} landed at ${check.ptsTime ?? 'nothing'} s instead of ${check.expected.toFixed(3)} s: resumed by decoding from the start instead`,
          );
        }
      }
      return openDecoder(
        {
          ffmpeg: bins.ffmpeg,
          input,
          video: v,
          layout,
          autorotate: o.autorotate,
          fps,
          cfr,
          fpsModeOption,
          fromFrame: from,
          maxFrames: max,
          seek,
          strict: o.strict,
          queueFrames: o.queueFrames,
          signal: signal ?? o.signal,
        },
        media.startTime,
      );
    },
  };
}

export function describeStreams(m: MediaInfo): string {
  const parts = [...m.audio.map((a) => `audio ${a.codec}`), ...m.subtitles.map((s) => `subtitle ${s.codec}`)];
  return parts.length ? parts.join(', ') : 'none';
}
