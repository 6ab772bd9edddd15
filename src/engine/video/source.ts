import { stat } from 'node:fs/promises';
import type { Raster, YuvMatrixName } from '../types';
import type { FrameStream } from './decoder';
import type { FrameLayout } from './pixels';
import type { MediaInfo } from './probe';
import type { Rational } from './rational';

/** What a render reads: a film through ffmpeg, or a microscopy stack / numbered image sequence through sharp. */
export interface FrameSource {
  kind: 'video' | 'tiff-stack' | 'image-sequence';
  path: string;
  layout: FrameLayout;
  fps: Rational;
  /** Frames in the whole source (estimate when `frameCountExact` is false). */
  frameCount?: number;
  frameCountExact: boolean;
  /** ffprobe's view of a film (absent for image stacks). */
  media?: MediaInfo;
  /**
   * Set when the frames come out as the film's own 8-bit YUV 4:2:0 (layout.planar) or grey planes,
   * for a processor that only makes chroma: how to read their codes.
   */
  yuv?: { matrix: YuvMatrixName; range: 'tv' | 'pc' };
  /** Whether the frames come out turned upright (rotation applied to the pixels). */
  rotationApplied: boolean;
  notes: string[];
  /** Size and modification time of what is read (for a sequence: all files), so a resume notices a changed input. */
  identity(): Promise<{ size: number; mtimeMs: number }>;
  /** Frames from `fromFrame` (0-based), at most `maxFrames`. */
  open(fromFrame: number, maxFrames: number | undefined, signal?: AbortSignal): Promise<FrameStream>;
}

/** A FrameStream over an async producer of frames, with a small read-ahead so file reads overlap processing. */
export function streamFrom(
  produce: (index: number) => Promise<Raster>,
  from: number,
  count: number,
  readAhead = 2,
): FrameStream {
  let nextIndex = from;
  const end = from + count;
  const pending: Promise<Raster>[] = [];
  let read = 0;
  let closed = false;
  const fill = (): void => {
    while (!closed && pending.length < readAhead && nextIndex < end) {
      const p = produce(nextIndex++);
      p.catch(() => undefined); // surfaced when taken
      pending.push(p);
    }
  };
  return {
    async next() {
      fill();
      const p = pending.shift();
      if (!p) return undefined;
      const r = await p;
      read += 1;
      fill();
      return r;
    },
    get framesRead() {
      return read;
    },
    async close() {
      closed = true;
      await Promise.allSettled(pending.splice(0));
    },
  };
}

export async function fileIdentity(path: string): Promise<{ size: number; mtimeMs: number }> {
  const s = await stat(path);
  return { size: s.size, mtimeMs: s.mtimeMs };
}
