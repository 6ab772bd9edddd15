import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { IpcMainEvent } from 'electron';
import { registerDragOut, renderDragFile } from '../../src/main/drag';
import { IPC_DRAG } from '../../src/shared/bridge';
import { renderFileName } from '../../src/shared/names';

/**
 * The desktop app's ways for files to come and go, through the main-process module boundaries with
 * fakes for Electron: the native drag of a render out of the window (the id checked and the file
 * resolved in main) and the OS open dialogs (the right filter for photos and films or models).
 */

const shown: unknown[] = [];
vi.mock('electron', () => ({
  dialog: {
    showOpenDialog: vi.fn(async (...args: unknown[]) => {
      shown.push(args.at(-1));
      return { canceled: false, filePaths: ['/home/me/a.jpg'] };
    }),
  },
  shell: { showItemInFolder: vi.fn() },
}));

function fakeIpc() {
  const listeners = new Map<string, (e: IpcMainEvent, ...a: unknown[]) => void>();
  return {
    on: (ch: string, l: (e: IpcMainEvent, ...a: unknown[]) => void) => listeners.set(ch, l),
    removeListener: (ch: string) => listeners.delete(ch),
    send(trusted: boolean, ...args: unknown[]) {
      const drags: unknown[] = [];
      const e = {
        trusted,
        sender: { startDrag: (item: unknown) => drags.push(item) },
      } as unknown as IpcMainEvent;
      listeners.get(IPC_DRAG)!(e, ...args);
      return drags;
    },
    listeners,
  };
}

describe('dragging a render out of the window', () => {
  const files = new Map([[7, { file: '/lib/renders/a-j7.png', icon: '/lib/views/render-j7.thumb.jpg' }]]);
  let ipc: ReturnType<typeof fakeIpc>;
  let errors: string[];
  let off: () => void;
  beforeEach(() => {
    ipc = fakeIpc();
    errors = [];
    off = registerDragOut(ipc as never, {
      resolve: (id) => files.get(id) ?? null,
      isTrustedSender: (e) => (e as unknown as { trusted: boolean }).trusted,
      onError: (m) => errors.push(m),
    });
  });

  it('starts a native drag of the file main resolves, for our own page only', () => {
    expect(ipc.send(true, 7)).toEqual([files.get(7)]);
    expect(ipc.send(false, 7)).toEqual([]);
    expect(ipc.send(true, '/etc/passwd')).toEqual([]);
    expect(ipc.send(true, -1)).toEqual([]);
    expect(ipc.send(true, 8)).toEqual([]);
    expect(errors).toEqual([
      'drag: from an untrusted frame',
      'drag: not a render id: /etc/passwd',
      'drag: not a render id: -1',
      'drag: render 8 has no finished file',
    ]);
    off();
    expect(ipc.listeners.size).toBe(0);
  });

  it('drags the render with its thumbnail (or display copy) as the picture, nothing without one', () => {
    const media: Record<string, string> = { 'render/3': '/lib/views/render-j3.jpg', 'rthumb/4': '/t4.jpg' };
    const s = {
      downloadFile: (id: number) => (id === 9 ? null : { path: `/lib/renders/r${id}.png` }),
      resolveMedia: (k: string) => (media[k] ? { path: media[k] } : null),
    };
    expect(renderDragFile(s, 3)).toEqual({ file: '/lib/renders/r3.png', icon: '/lib/views/render-j3.jpg' });
    expect(renderDragFile(s, 4)).toEqual({ file: '/lib/renders/r4.png', icon: '/t4.jpg' });
    expect(renderDragFile(s, 5)).toBeNull(); // no picture: macOS refuses a drag without one
    expect(renderDragFile(s, 9)).toBeNull();
  });

  it('names the file after its item', () => {
    expect(renderFileName('Wedding 1952.jpg', '/lib/renders/wedding-j3.png')).toBe(
      'Wedding 1952-tintype.png',
    );
    expect(renderFileName('reel', '/lib/renders/reel-j4.mkv')).toBe('reel-tintype.mkv');
  });
});

describe('OS open dialogs', () => {
  it('filters for photos and films, or for ONNX models in the import wizard', async () => {
    const { desktopHandlers } = await import('../../src/main/dialogs');
    const h = desktopHandlers(() => null);
    shown.length = 0;
    expect(await h['dialog.openFiles']!({ kind: 'media' })).toEqual({ paths: ['/home/me/a.jpg'] });
    await h['dialog.openFiles']!({ kind: 'onnx' });
    await h['dialog.openFolder']!({});
    const [media, onnx, folder] = shown as {
      properties: string[];
      filters?: { name: string; extensions: string[] }[];
    }[];
    expect(media.properties).toEqual(['openFile', 'multiSelections']);
    expect(media.filters![0].extensions).toEqual(expect.arrayContaining(['jpg', 'tif', 'mp4']));
    expect(onnx).toEqual({
      properties: ['openFile'],
      filters: [
        { name: 'ONNX models', extensions: ['onnx'] },
        { name: 'All files', extensions: ['*'] },
      ],
    });
    expect(folder).toEqual({ properties: ['openDirectory', 'multiSelections'], filters: undefined });
  });
});
