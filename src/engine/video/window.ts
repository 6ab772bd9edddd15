import type { ChromaPlanes, LumaFrame, Raster } from '../types';

/**
 * Frames t-1, t, t+1 for models whose manifest says `frames: 3` (stacked on the channel axis, as
 * multi-frame denoisers and microscopy restorers expect). At the first and last frame of the source
 * the missing neighbour is the edge frame itself.
 */
export interface FrameWindow {
  /** Index of the centre frame in the source. */
  index: number;
  frames: readonly [Raster, Raster, Raster];
}

/** Processes a batch of frames; returns one output per input, in the same order. */
export type FrameProcessor = (frames: Raster[]) => Promise<Raster[]>;
/** Processes a batch of windows; returns one output (the restored centre frame) per window, in order. */
export type WindowProcessor = (windows: FrameWindow[]) => Promise<Raster[]>;

/** Makes new chroma for YUV frames given by their luma (a colorizer): one result per frame, in order. */
export type LumaProcessor = (frames: LumaFrame[]) => Promise<ChromaPlanes[]>;

/**
 * What a render runs on each frame: single frames, or 3-frame sliding windows. A single-frame
 * processor that only recolours may also offer `luma`: the render then keeps 8-bit 4:2:0 films in
 * YUV end to end (no RGB conversion either way, the luma passes through untouched, a third of the
 * bytes on each pipe) where the output allows it, and calls `process` otherwise.
 */
export type VideoProcessor =
  { frames: 1; process: FrameProcessor; luma?: LumaProcessor } | { frames: 3; process: WindowProcessor };

/** Wraps a per-frame function (e.g. an EnginePool call) as a batch processor that runs the batch concurrently. */
export function perFrame(
  fn: (frame: Raster) => Promise<Raster>,
  luma?: (frame: LumaFrame) => Promise<ChromaPlanes>,
): VideoProcessor {
  return {
    frames: 1,
    process: (frames) => Promise.all(frames.map(fn)),
    ...(luma ? { luma: (frames: LumaFrame[]) => Promise.all(frames.map(luma)) } : {}),
  };
}

/** Wraps a per-window function as a 3-frame processor. */
export function perWindow(fn: (window: FrameWindow) => Promise<Raster>): VideoProcessor {
  return { frames: 3, process: (windows) => Promise.all(windows.map(fn)) };
}

/**
 * Turns consecutive frames into windows. Frames are pushed in order starting at `firstIndex`;
 * windows are produced for centres in [emitFrom, emitTo). Frames outside that range (decoded only
 * as neighbours, e.g. frame k-1 when resuming at k) are context, never output.
 */
export class SlidingWindow {
  private prev: Raster | undefined;
  private cur: Raster | undefined;
  private curIndex = -1;
  private nextIndex: number;

  constructor(
    firstIndex: number,
    private readonly emitFrom: number,
    private readonly emitTo: number,
  ) {
    this.nextIndex = firstIndex;
  }

  push(frame: Raster): FrameWindow[] {
    const out: FrameWindow[] = [];
    if (this.cur) out.push(...this.make(this.curIndex, this.prev ?? this.cur, this.cur, frame));
    this.prev = this.cur;
    this.cur = frame;
    this.curIndex = this.nextIndex++;
    return out;
  }

  /** The source has ended: the last frame gets itself as its next neighbour. */
  end(): FrameWindow[] {
    if (!this.cur) return [];
    const out = this.make(this.curIndex, this.prev ?? this.cur, this.cur, this.cur);
    this.prev = this.cur = undefined;
    return out;
  }

  private make(index: number, a: Raster, b: Raster, c: Raster): FrameWindow[] {
    return index >= this.emitFrom && index < this.emitTo ? [{ index, frames: [a, b, c] }] : [];
  }
}
