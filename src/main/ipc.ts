import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { dispatch, type DispatchOptions, type Handlers } from '../library/dispatch';
import { IPC_EVENT, IPC_INVOKE, type ApiEvent, type ApiResult } from '../shared/bridge';

/**
 * Connects the API to IPC. Only type imports from Electron here, so the tests drive this with a fake
 * ipcMain. Every call goes through dispatch(): a malformed payload, an unknown method or a throwing
 * handler all come back as an error result, never as an exception in the main process.
 */
export function registerIpc(
  ipc: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handlers: Handlers,
  opts: DispatchOptions & { isTrustedSender?: (e: IpcMainInvokeEvent) => boolean } = {},
): () => void {
  ipc.handle(
    IPC_INVOKE,
    async (event: IpcMainInvokeEvent, method: unknown, payload: unknown): Promise<ApiResult<unknown>> => {
      if (opts.isTrustedSender && !opts.isTrustedSender(event)) {
        return { ok: false, error: { code: 'UNAUTHORIZED', message: 'IPC from an untrusted frame' } };
      }
      return dispatch(handlers, method, payload, opts);
    },
  );
  return () => ipc.removeHandler(IPC_INVOKE);
}

/** Forwards backend events to a window's renderer. */
export function forwardEvents(
  subscribe: (l: (e: ApiEvent) => void) => () => void,
  target: () => WebContents | null,
): () => void {
  return subscribe((e) => {
    const wc = target();
    if (wc && !wc.isDestroyed()) wc.send(IPC_EVENT, e);
  });
}
