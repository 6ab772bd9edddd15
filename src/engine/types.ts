import type { OpName, OpOptions } from '../shared/ops';

/**
 * Engine-wide types. The engine runs under plain Node (CLI, tests, headless server) and inside
 * Electron's main process or a worker; nothing here may depend on Electron.
 */

export type BitDepth = 8 | 16;

/**
 * An image in memory: interleaved samples, row-major, `channels` per pixel (1 grey, 3 RGB).
 * 16-bit images keep Uint16Array samples end to end so microscopy and scans lose no precision.
 */
export interface Raster {
  width: number;
  height: number;
  channels: 1 | 3;
  depth: BitDepth;
  data: Uint8Array | Uint16Array;
  /**
   * Film frames only: 'yuv420p' means `data` holds 8-bit planes Y (width×height), then U and V
   * (width/2 × height/2 each) instead of interleaved RGB; `channels` is then 3 and `depth` 8.
   */
  planar?: 'yuv420p';
}

/** Y'CbCr matrices by swscale's names. */
export type YuvMatrixName = 'bt601' | 'bt709' | 'bt2020' | 'smpte240m' | 'fcc';

/**
 * The luma plane of an 8-bit YUV film frame, with how to read it: all a colorizer needs, since it
 * keeps the luma and makes only the chroma (the film fast path, see video/render.ts).
 */
export interface LumaFrame {
  width: number;
  height: number;
  luma: Uint8Array;
  matrix: YuvMatrixName;
  range: 'tv' | 'pc';
}

/** 8-bit U and V planes at 4:2:0 resolution (width/2 × height/2) for a LumaFrame. */
export interface ChromaPlanes {
  u: Uint8Array;
  v: Uint8Array;
}

// Operations, their options and limits are defined once, in src/shared/ops.ts (the renderer reads them too).
export { OPS, type OpName, type OpOptions } from '../shared/ops';

export type ExecutionProviderChoice = 'auto' | 'cpu' | 'cuda' | 'dml' | 'coreml';

export type OutputFormat = 'jpg' | 'png' | 'tif' | 'webp';

export interface FileJob {
  input: string;
  /** Exact output file path. */
  output: string;
  ops: OpName[];
  options: OpOptions;
  format?: OutputFormat;
  overwrite?: boolean;
  /** Draw a small visible "AI-colorized" mark in a corner. Off by default. */
  watermark?: boolean;
  /** Keep 16-bit output where the input is 16-bit and the format allows it (default true). */
  keep16bit?: boolean;
  /** What transparent pixels are laid on when the format has no alpha (JPEG): '#rrggbb', default white. */
  background?: string;
  /** The user's mask for repair (a greyscale image of the picture's size, white = repair). */
  mask?: string;
  /** Where to write the mask repair worked with (8-bit greyscale PNG, the picture's size). */
  saveMask?: string;
  /**
   * Leave a photo that already has colour as it is when the ops add colour (colorize would replace
   * its colours): the result is `skipped` and `alreadyColour`, with the reason in `notes`.
   */
  skipColour?: boolean;
}

export interface FileResult {
  input: string;
  output: string;
  ok: boolean;
  /** Not processed: the output already existed (a rerun; --overwrite redoes it), or see alreadyColour. */
  skipped?: boolean;
  /** Skipped because the photo already has colour (FileJob.skipColour). */
  alreadyColour?: boolean;
  error?: string;
  /** The work was stopped by its abort signal; nothing was written. */
  cancelled?: boolean;
  /** Things the user should know about a finished file (e.g. transparency flattened for JPEG). */
  notes?: string[];
  ops: OpName[];
  models: string[];
  width?: number;
  height?: number;
  /** Milliseconds: total, and the part spent inside model inference. */
  ms?: number;
  inferenceMs?: number;
  /** Where the time went (ms): decoding, loading models, processing (inference included), encoding. */
  timings?: {
    readMs: number;
    modelsMs: number;
    processMs: number;
    writeMs: number;
    /** Parts of processMs (colorize): model input made, model run, chroma merged at full size. */
    prepareMs?: number;
    inferMs?: number;
    mergeMs?: number;
    /** Part of mergeMs: colour hints spread on their small grid. */
    hintsMs?: number;
  };
}

export interface ProgressEvent {
  /** 0..1 within the current file, weighted by each step's estimated cost. */
  fraction: number;
  stage: string;
  /** Which step of the recipe is running (1-based) and how many there are. */
  step?: number;
  steps?: number;
}
