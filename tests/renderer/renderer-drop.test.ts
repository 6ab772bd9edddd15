import { describe, expect, it } from 'vitest';
import type { ImportReport } from '../../src/shared/api';
import type { ApiClient } from '../../src/renderer/src/api/client';
import { importDropped } from '../../src/renderer/src/api/upload';

/**
 * Files dropped on the library, at the seam the desktop app and the browser share: in Electron the
 * preload's webUtils gives each dropped file (or folder) its path and they are imported in place;
 * a browser has no paths and uploads the bytes. (A native drop itself needs the Electron binary.)
 */

const report = (names: string[]): ImportReport => ({
  added: names.map((n, i) => ({ id: i + 1, name: n }) as ImportReport['added'][number]),
  duplicates: [],
  errors: [],
});

function fakeApi(opts: { paths: Record<string, string>; upload: boolean }) {
  const calls: { method: string; req: unknown }[] = [];
  const uploads: string[] = [];
  const api: ApiClient = {
    mode: opts.upload ? 'server' : 'electron',
    call: (async (method: string, req: unknown) => {
      calls.push({ method, req });
      return report((req as { paths: string[] }).paths);
    }) as ApiClient['call'],
    subscribe: () => () => {},
    mediaUrl: (k) => k,
    pathForFile: (f) => opts.paths[f.name] ?? null,
    ...(opts.upload
      ? {
          upload: async (_projectId: number, f: File) => {
            uploads.push(f.name);
            if (f.name === 'bad.jpg') throw new Error('bad.jpg: not a readable image');
            return report([f.name]);
          },
        }
      : {}),
  };
  return { api, calls, uploads };
}

const file = (name: string) => new File([new Uint8Array([1, 2, 3])], name);

describe('dropping files on the library', () => {
  it('imports the paths the desktop app gives, folders included, without uploading', async () => {
    const { api, calls, uploads } = fakeApi({
      paths: { 'scan.tif': '/home/me/scans/scan.tif', Album: '/home/me/Album' },
      upload: false,
    });
    const r = await importDropped(api, 7, [file('scan.tif'), file('Album')]);
    expect(calls).toEqual([
      {
        method: 'assets.import',
        req: { projectId: 7, paths: ['/home/me/scans/scan.tif', '/home/me/Album'] },
      },
    ]);
    expect(uploads).toEqual([]);
    expect(r.added.map((a) => a.name)).toEqual(['/home/me/scans/scan.tif', '/home/me/Album']);
  });

  it('uploads in a browser, one file after another, reporting a failed one by name', async () => {
    const { api, calls, uploads } = fakeApi({ paths: {}, upload: true });
    const r = await importDropped(api, 7, [file('a.jpg'), file('bad.jpg'), file('b.jpg')]);
    expect(calls).toEqual([]);
    expect(uploads).toEqual(['a.jpg', 'bad.jpg', 'b.jpg']);
    expect(r.added.map((a) => a.name)).toEqual(['a.jpg', 'b.jpg']);
    expect(r.errors).toEqual([{ path: 'bad.jpg', error: 'bad.jpg: not a readable image' }]);
  });

  it('says so when the desktop app cannot tell where some dropped files are', async () => {
    const { api, calls } = fakeApi({ paths: { 'a.jpg': '/p/a.jpg' }, upload: false });
    await expect(importDropped(api, 7, [file('a.jpg'), file('b.jpg')])).rejects.toThrow(
      'the app was not told where b.jpg is: use Import instead',
    );
    expect(calls).toEqual([]);
  });
});
