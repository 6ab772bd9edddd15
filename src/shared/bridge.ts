import type { Batch, Job, ModelProgress, Settings } from './api';

/**
 * The zod-free half of the contract: what the sandboxed preload needs (channel names, the shape of
 * window.tintype). The preload may import nothing but 'electron' at run time, so this file holds only
 * constants and types. The data types it carries (jobs, settings...) are owned by ./api.
 */

/** Every call answers with this envelope; errors are data, never a thrown IPC exception. */
export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };
export interface ApiError {
  /** BAD_REQUEST: the payload failed validation; FAILED: the operation itself failed. */
  code: 'BAD_REQUEST' | 'UNKNOWN_METHOD' | 'NOT_FOUND' | 'UNAVAILABLE' | 'FAILED' | 'UNAUTHORIZED';
  message: string;
}

export type MenuAction =
  'import-files' | 'import-folder' | 'new-project' | 'export' | 'settings' | 'toggle-queue' | 'toggle-theme';

export type ApiEvent =
  | { type: 'job'; job: Job }
  | { type: 'batch'; batch: Batch }
  | { type: 'batch-done'; batch: Batch }
  | { type: 'library'; projectId: number | null }
  | { type: 'settings'; settings: Settings }
  | {
      type: 'model';
      id: string;
      /** `sized`: the server announced the download size of a model the catalog gives none for. */
      state: 'installing' | 'installed' | 'failed' | 'canceled' | 'removed' | 'sized';
      progress: ModelProgress | null;
      error: string | null;
    }
  | { type: 'menu'; action: MenuAction };

/** What the preload puts on window.tintype. */
export interface TintypeBridge {
  invoke(method: string, payload: unknown): Promise<ApiResult<unknown>>;
  /** Returns a function that stops listening. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
  /** The file-system path of a dropped File (Electron removed File.path). */
  pathForFile(file: File): string;
  /** Starts a native drag of a finished render's file out of the window (to a folder, another app). */
  startDrag(renderId: number): void;
}

export const IPC_INVOKE = 'tintype:invoke';
export const IPC_EVENT = 'tintype:event';
export const IPC_DRAG = 'tintype:drag';
export const MEDIA_SCHEME = 'tintype-media';
