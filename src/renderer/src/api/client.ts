import type { ImportReport, Method, Req, Res } from '../../../shared/api';
import type { ApiError, ApiEvent } from '../../../shared/bridge';

/** What the UI talks to; the same in the desktop app (IPC) and in a browser (HTTP). */
export interface ApiClient {
  readonly mode: 'electron' | 'server';
  call<M extends Method>(method: M, req?: Req<M>): Promise<Res<M>>;
  /** Returns a function that stops listening. */
  subscribe(listener: (e: ApiEvent) => void): () => void;
  /** A URL an <img> can show for a media key from the API. */
  mediaUrl(key: string): string;
  /** The path of a dropped file; null where the platform does not expose it (a browser). */
  pathForFile(file: File): string | null;
  /** A browser's way in: sends the file's bytes to the server, which imports them. */
  upload?(projectId: number, file: File): Promise<ImportReport>;
  /** A browser's way out: a URL that downloads a finished render. */
  downloadUrl?(renderId: number): string;
  /** The desktop app's way out: a native drag of a finished render's file out of the window. */
  startDrag?(renderId: number): void;
}

export class ApiCallError extends Error {
  constructor(
    readonly method: string,
    readonly error: ApiError,
  ) {
    super(error.message);
    this.name = 'ApiCallError';
  }
}
