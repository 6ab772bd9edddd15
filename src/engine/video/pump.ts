import type { Raster } from '../types';
import { errorMessage, type VideoErrorCode } from '../errors';
import type { FrameStream } from './decoder';
import type { ChromaSmoother } from './flicker';
import type { YuvMatrixName } from '../types';
import { checkRaster, withChroma } from './pixels';
import { SlidingWindow, type FrameWindow, type LumaProcessor, type VideoProcessor } from './window';

/**
 * The frame pump: decoded frames (or sliding windows of three) → the processor, in batches with a
 * few in flight so inference overlaps decoding and encoding → checks, chroma smoothing → `emit`,
 * strictly in frame order.
 */

interface Item {
  index: number;
  frame?: Raster;
  window?: FrameWindow;
}

export interface PumpOptions {
  stream: FrameStream;
  processor: VideoProcessor;
  /** The source frame the stream starts at, the first one to process, and the end (exclusive) of what is emitted. */
  decodeFrom: number;
  processFrom: number;
  emitEnd: number;
  batchSize: number;
  inFlight: number;
  smoother?: ChromaSmoother;
  /** The YUV path: frames go to this chroma maker as luma planes, and come back with its chroma. */
  luma?: { process: LumaProcessor; matrix: YuvMatrixName; range: 'tv' | 'pc' };
  signal?: AbortSignal;
  /** Receives each processed frame, in order. */
  emit: (index: number, raster: Raster) => Promise<void>;
  /** A failure with the render's progress attached. */
  failure: (message: string, code: VideoErrorCode, cause?: unknown) => Error;
}

/** Runs the pump until the stream ends; returns the milliseconds spent waiting for the processor. */
export async function pumpFrames(p: PumpOptions): Promise<number> {
  const { stream, processor, signal } = p;
  const window =
    processor.frames === 3 ? new SlidingWindow(p.decodeFrom, p.processFrom, p.emitEnd) : undefined;
  let decodeIndex = p.decodeFrom;
  const items = async function* (): AsyncGenerator<Item> {
    for (;;) {
      const f = await stream.next();
      if (!f) break;
      const index = decodeIndex++;
      if (window) for (const w of window.push(f)) yield { index: w.index, window: w };
      else if (index >= p.processFrom && index < p.emitEnd) yield { index, frame: f };
    }
    if (window) for (const w of window.end()) yield { index: w.index, window: w };
  };

  const lumaBatch = async (frames: Raster[]): Promise<Raster[]> => {
    const l = p.luma!;
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

  let processorMs = 0;
  const run = async (batch: Item[]): Promise<Raster[]> => {
    const t0 = Date.now();
    const out =
      processor.frames === 3
        ? await processor.process(batch.map((b) => b.window as FrameWindow))
        : p.luma
          ? await lumaBatch(batch.map((b) => b.frame as Raster))
          : await processor.process(batch.map((b) => b.frame as Raster));
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
    while (!exhausted && pending.length < p.inFlight) {
      const batch: Item[] = [];
      while (batch.length < p.batchSize) {
        if (signal?.aborted) throw p.failure('cancelled', 'CANCELLED');
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
      throw p.failure(
        `processing frame ${head.batch[0].index + 1} failed: ${errorMessage(err)}`,
        'PROCESS_FAILED',
        err,
      );
    }
    for (let i = 0; i < outs.length; i++) {
      if (signal?.aborted) throw p.failure('cancelled', 'CANCELLED');
      const idx = head.batch[i].index;
      let r = outs[i];
      try {
        checkRaster(r, `processed frame ${idx + 1}`);
      } catch (err) {
        throw p.failure(errorMessage(err), 'PROCESS_FAILED', err);
      }
      if (p.smoother) r = p.smoother.apply(r);
      await p.emit(idx, r);
    }
  }
  return processorMs;
}
