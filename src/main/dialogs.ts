import { dialog, shell, type BrowserWindow } from 'electron';
import { existsSync } from 'node:fs';
import type { Handlers } from '../library/dispatch';
import { IMAGE_EXTS, VIDEO_EXTS } from '../library/scan';

const exts = [...IMAGE_EXTS, ...VIDEO_EXTS].map((e) => e.slice(1));

/** The methods only the desktop app can answer: native open dialogs and "show in folder". */
export function desktopHandlers(win: () => BrowserWindow | null): Handlers {
  const open = async (properties: ('openFile' | 'openDirectory' | 'multiSelections')[]) => {
    const w = win();
    const opts = {
      properties,
      filters: properties.includes('openFile')
        ? [
            { name: 'Photos, scans and films', extensions: exts },
            { name: 'All files', extensions: ['*'] },
          ]
        : undefined,
    };
    const r = w ? await dialog.showOpenDialog(w, opts) : await dialog.showOpenDialog(opts);
    return { paths: r.canceled ? [] : r.filePaths };
  };
  return {
    'dialog.openFiles': () => open(['openFile', 'multiSelections']),
    'dialog.openFolder': () => open(['openDirectory', 'multiSelections']),
    'shell.reveal': ({ path }) => {
      if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
      shell.showItemInFolder(path);
      return { ok: true as const };
    },
  };
}
