import type { EngineOptions } from '../engine';
import type {
  ChromaPlanes,
  FileJob,
  FileResult,
  LumaFrame,
  OpName,
  OpOptions,
  ProgressEvent,
  Raster,
} from '../types';

/** Messages between EnginePool and its worker threads. */
export type WorkerInit = Omit<EngineOptions, 'log'>;

export type WorkerRequest =
  | { id: number; kind: 'file'; job: FileJob }
  | { id: number; kind: 'raster'; raster: Raster; ops: OpName[]; options: OpOptions }
  | { id: number; kind: 'window'; frames: [Raster, Raster, Raster]; ops: OpName[]; options: OpOptions }
  /** Stops request `id` at its next tile or step; it then answers with a CANCELLED error or result. */
  | { id: number; kind: 'cancel' }
  | { id: number; kind: 'luma'; frame: LumaFrame; options: OpOptions };

export type WorkerReply =
  | { id: number; type: 'progress'; event: ProgressEvent }
  | { id: number; type: 'file'; result: FileResult }
  | { id: number; type: 'raster'; raster: Raster }
  | { id: number; type: 'chroma'; planes: ChromaPlanes }
  | { id: number; type: 'error'; message: string; code?: string }
  | { id: -1; type: 'log'; level: 'info' | 'warn'; message: string };
