import type { FileJob, FileResult, ProgressEvent } from '../engine/types';
import type { ModelInfo, Settings } from '../shared/api';

/**
 * What the library needs from the engine. The real one is the engine's EnginePool (worker threads);
 * tests inject small processors of their own. Keeping the seam this narrow is what lets the same
 * service run in Electron's main process, the headless server and the tests.
 */
export interface RenderEngine {
  processFile(job: FileJob, onProgress?: (e: ProgressEvent) => void): Promise<FileResult>;
  close(): Promise<void>;
}

/** Builds an engine for the current settings; called again when the execution provider or threads change. */
export type EngineFactory = (settings: Pick<Settings, 'executionProvider' | 'threads' | 'concurrency'>) => RenderEngine | Promise<RenderEngine>;

export interface ModelCatalog {
  list(): Promise<ModelInfo[]>;
}

/**
 * Video work (from src/engine/video): a whole clip in, a whole clip out. Optional: without it, video
 * assets are imported and shown but rendering them fails with a clear message.
 */
export interface VideoRenderer {
  processVideo(
    job: { input: string; output: string; ops: FileJob['ops']; options: FileJob['options']; watermark?: boolean },
    onProgress?: (e: ProgressEvent & { fps?: number }) => void,
  ): Promise<FileResult>;
  /** Re-encodes a rendered clip (or writes an image sequence) for export. */
  exportVideo?(input: string, output: string, format: 'mp4' | 'mkv' | 'mov' | 'frames'): Promise<void>;
}
