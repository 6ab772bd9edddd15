import type { ImportReport, Method, Req, Res } from '../../../shared/api';
import type { ApiEvent, ApiResult } from '../../../shared/bridge';
import { ApiCallError, type ApiClient } from './client';

const TOKEN_KEY = 'tintype.token';

/**
 * The token arrives in the URL fragment (never sent to the server in a request line or a Referer);
 * it is kept for the tab's lifetime and removed from the address bar.
 */
export function takeToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  const fromQuery = new URLSearchParams(location.search).get('token');
  const token = fromHash ?? fromQuery;
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', location.pathname);
    return token;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** A browser talking to `tintype serve`: POST /api/<method>, events over server-sent events. */
export class HttpClient implements ApiClient {
  readonly mode = 'server' as const;
  private source: EventSource | null = null;
  private readonly listeners = new Set<(e: ApiEvent) => void>();

  constructor(private readonly token: string) {}

  async call<M extends Method>(method: M, req?: Req<M>): Promise<Res<M>> {
    const res = await fetch(`/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify(req ?? {}),
    });
    let body: ApiResult<unknown>;
    try {
      body = (await res.json()) as ApiResult<unknown>;
    } catch {
      throw new ApiCallError(method, {
        code: 'FAILED',
        message: `${method}: the server answered ${res.status} without a result`,
      });
    }
    if (!body.ok) throw new ApiCallError(method, body.error);
    return body.value as Res<M>;
  }

  subscribe(listener: (e: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.source) {
      this.source = new EventSource(`/api/events?token=${encodeURIComponent(this.token)}`);
      this.source.onmessage = (m: MessageEvent<string>) => {
        const e = JSON.parse(m.data) as ApiEvent;
        for (const l of this.listeners) l(e);
      };
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.source?.close();
        this.source = null;
      }
    };
  }

  mediaUrl(key: string): string {
    return `/media/${key}?token=${encodeURIComponent(this.token)}`;
  }

  pathForFile(): string | null {
    return null;
  }

  async upload(projectId: number, file: File): Promise<ImportReport> {
    const q = new URLSearchParams({ project: String(projectId), name: file.name });
    const res = await fetch(`/upload?${q}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${this.token}` },
      body: file,
    });
    const body = (await res.json().catch(() => null)) as ApiResult<ImportReport> | null;
    if (!body) throw new Error(`${file.name}: the server answered ${res.status} without a result`);
    if (!body.ok) throw new ApiCallError('upload', body.error);
    return body.value;
  }

  /** Bound: components receive it as a plain function (RenderHistory's prop), not as a method. */
  downloadUrl = (renderId: number): string => `/download/${renderId}?token=${encodeURIComponent(this.token)}`;
}
