import type { Method, Req, Res } from '../../../shared/api';
import { MEDIA_SCHEME, type TintypeBridge } from '../../../shared/bridge';
import { ApiCallError, type ApiClient } from './client';

/** The desktop app: calls go through the preload's bridge to the main process. */
export class IpcClient implements ApiClient {
  readonly mode = 'electron' as const;

  constructor(private readonly bridge: TintypeBridge) {}

  async call<M extends Method>(method: M, req?: Req<M>): Promise<Res<M>> {
    const r = await this.bridge.invoke(method, req ?? {});
    if (!r.ok) throw new ApiCallError(method, r.error);
    return r.value as Res<M>;
  }

  subscribe(listener: Parameters<ApiClient['subscribe']>[0]): () => void {
    return this.bridge.onEvent(listener);
  }

  mediaUrl(key: string): string {
    return `${MEDIA_SCHEME}://media/${key}`;
  }

  pathForFile(file: File): string | null {
    return this.bridge.pathForFile(file) || null;
  }

  startDrag(renderId: number): void {
    this.bridge.startDrag(renderId);
  }
}
