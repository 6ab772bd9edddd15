import { useEffect } from 'react';
import type { DragEvent } from 'react';
import type { Render } from '../../../shared/api';
import { renderFileName } from '../../../shared/names';
import type { ApiClient } from './client';

/**
 * Dragging a finished render out of the window: in the desktop app a native file drag (the main
 * process resolves the file from the id); in Chromium a DownloadURL, which a drop on the desktop or a
 * file manager turns into a download of the render.
 */
export function dragRenderOut(api: ApiClient, e: DragEvent, render: Render, itemName: string): void {
  if (api.startDrag) {
    e.preventDefault();
    api.startDrag(render.id);
    return;
  }
  if (!api.downloadUrl || !render.outputPath) return;
  const url = new URL(api.downloadUrl(render.id), location.href).href;
  e.dataTransfer.setData(
    'DownloadURL',
    `application/octet-stream:${renderFileName(itemName, render.outputPath)}:${url}`,
  );
  e.dataTransfer.setData('text/uri-list', url);
  e.dataTransfer.effectAllowed = 'copy';
}

/**
 * Files let go outside a drop zone (the library grid) would make the browser, or the app's window,
 * open the file in place of the app and lose its state; this makes such a drop do nothing instead.
 */
export function useStrayDropGuard(): void {
  useEffect(() => {
    const guard = (e: globalThis.DragEvent) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    };
    window.addEventListener('dragover', guard);
    window.addEventListener('drop', guard);
    return () => {
      window.removeEventListener('dragover', guard);
      window.removeEventListener('drop', guard);
    };
  }, []);
}
