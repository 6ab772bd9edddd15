import type { IpcMain, IpcMainEvent } from 'electron';
import { Id } from '../shared/api';
import { IPC_DRAG } from '../shared/bridge';

/** What a drag carries: the render's file, and a picture for the cursor (macOS needs one). */
export interface DragFile {
  file: string;
  icon: string;
}

/**
 * Native drag of a finished render out of the window (webContents.startDrag), asked for by id over
 * the preload's startDrag. Main checks the sender and the id and resolves the file itself: the
 * renderer never names a path. Only type imports from Electron, so the tests drive it with a fake ipc.
 */
export function registerDragOut(
  ipc: Pick<IpcMain, 'on' | 'removeListener'>,
  opts: {
    resolve: (renderId: number) => DragFile | null;
    isTrustedSender: (e: IpcMainEvent) => boolean;
    onError?: (message: string) => void;
  },
): () => void {
  const listener = (e: IpcMainEvent, renderId: unknown) => {
    if (!opts.isTrustedSender(e)) return opts.onError?.('drag: from an untrusted frame');
    const id = Id.safeParse(renderId);
    if (!id.success) return opts.onError?.(`drag: not a render id: ${String(renderId).slice(0, 50)}`);
    const item = opts.resolve(id.data);
    if (!item) return opts.onError?.(`drag: render ${id.data} has no finished file`);
    e.sender.startDrag({ file: item.file, icon: item.icon });
  };
  ipc.on(IPC_DRAG, listener);
  return () => ipc.removeListener(IPC_DRAG, listener);
}

/** A render's file and its thumbnail (or display copy) as the drag picture; null when there is none. */
export function renderDragFile(
  s: {
    downloadFile(renderId: number): { path: string } | null;
    resolveMedia(key: string): { path: string } | null;
  },
  renderId: number,
): DragFile | null {
  const file = s.downloadFile(renderId)?.path;
  const icon = (s.resolveMedia(`rthumb/${renderId}`) ?? s.resolveMedia(`render/${renderId}`))?.path;
  return file && icon ? { file, icon } : null;
}
