import type { FileJob, FileResult, OpName, OpOptions, ProgressEvent, Raster } from '../engine/index';
import type { ModelInfo, Settings } from '../shared/api';

/**
 * What the library needs from the engine. The real one is the engine's EnginePool (worker threads);
 * tests inject small processors of their own. Keeping the seam this narrow is what lets the same
 * service run in Electron's main process, the headless server and the tests.
 */
export interface RenderEngine {
  /** `signal` stops the file between tiles and steps; the result then says `cancelled`. */
  processFile(
    job: FileJob,
    onProgress?: (e: ProgressEvent) => void,
    signal?: AbortSignal,
  ): Promise<FileResult>;
  /** One frame in memory (films and stacks go through this, frame by frame). */
  processRaster?(raster: Raster, ops: OpName[], options: OpOptions, signal?: AbortSignal): Promise<Raster>;
  /** One frame with its neighbours [t-1, t, t+1], for 3-frame models. */
  processWindow?(
    frames: [Raster, Raster, Raster],
    ops: OpName[],
    options: OpOptions,
    signal?: AbortSignal,
  ): Promise<Raster>;
  close(): Promise<void>;
}

/** Builds an engine for the current settings; called again when the execution provider or threads change. */
export type EngineFactory = (
  settings: Pick<Settings, 'executionProvider' | 'threads' | 'concurrency'>,
) => RenderEngine | Promise<RenderEngine>;

export interface ModelCatalog {
  list(): Promise<ModelInfo[]>;
}

/**
 * Films and image stacks (from src/engine/video): a whole clip or multi-page TIFF in, the same out,
 * frame by frame through the engine. Optional: without it, such assets are imported and shown but
 * rendering them fails with a clear message.
 */
export interface VideoRenderer {
  processVideo(
    job: {
      input: string;
      output: string;
      kind: 'video' | 'stack';
      ops: FileJob['ops'];
      options: FileJob['options'];
      signal?: AbortSignal;
    },
    engine: RenderEngine,
    onProgress?: (e: ProgressEvent & { fps?: number }) => void,
  ): Promise<FileResult>;
  /**
   * A range preview: a short, already shrunk cut of a film through the recipe into an H.264 MP4.
   * Optional (test renderers may leave it out; the preview then says it is unavailable).
   */
  renderClip?(
    job: {
      input: string;
      output: string;
      ops: FileJob['ops'];
      options: FileJob['options'];
      signal?: AbortSignal;
    },
    engine: RenderEngine,
  ): Promise<{ frames: number; width: number; height: number }>;
  /**
   * The options a film's frames get: its models resolved as for a film (the film defaults, e.g. the
   * video colorizer) and named, so a still preview of one of its frames shows what its render will.
   */
  filmOptions?(ops: FileJob['ops'], options: FileJob['options']): Promise<FileJob['options']>;
  /** Writes a rendered clip or stack in an export format (a folder of frames for 'frames'). */
  exportVideo(
    input: string,
    output: string,
    kind: 'video' | 'stack',
    format: 'mp4' | 'mkv' | 'mov' | 'frames',
  ): Promise<void>;
}
