import { dialog, shell, type BrowserWindow } from 'electron';
import { existsSync } from 'node:fs';
import type { Handlers } from '../library/dispatch';
import { IMAGE_EXTS, VIDEO_EXTS } from '../library/scan';

const exts = [...IMAGE_EXTS, ...VIDEO_EXTS].map((e) => e.slice(1));

/** The methods only the desktop app can answer: native open dialogs and "show in folder". */
export function desktopHandlers(win: () => BrowserWindow | null): Handlers {
  const open = async (
    properties: ('openFile' | 'openDirectory' | 'multiSelections')[],
    filter?: { name: string; extensions: string[] },
  ) => {
    const w = win();
    const opts = {
      properties,
      filters: filter ? [filter, { name: 'All files', extensions: ['*'] }] : undefined,
    };
    const r = w ? await dialog.showOpenDialog(w, opts) : await dialog.showOpenDialog(opts);
    return { paths: r.canceled ? [] : r.filePaths };
  };
  return {
    'dialog.openFiles': ({ kind }) =>
      kind === 'onnx'
        ? open(['openFile'], { name: 'ONNX models', extensions: ['onnx'] })
        : open(['openFile', 'multiSelections'], { name: 'Photos, scans and films', extensions: exts }),
    'dialog.openFolder': () => open(['openDirectory', 'multiSelections']),
    'shell.reveal': ({ path }) => {
      if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
      shell.showItemInFolder(path);
      return { ok: true as const };
    },
  };
}
