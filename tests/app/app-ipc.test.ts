import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpcMainInvokeEvent } from 'electron';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceHandlers, type Handlers } from '../../src/library/dispatch';
import { LibraryService } from '../../src/library/service';
import { registerIpc } from '../../src/main/ipc';
import { METHODS } from '../../src/shared/api';
import { IPC_INVOKE, type ApiResult } from '../../src/shared/bridge';
import { sharpProcessor, testCatalog, writePhoto } from '../helpers/library-helpers';

type Listener = (e: IpcMainInvokeEvent, ...args: unknown[]) => Promise<ApiResult<unknown>>;

/** Stands in for Electron's ipcMain: registerIpc only uses handle/removeHandler. */
function fakeIpc() {
  const handlers = new Map<string, Listener>();
  return {
    handle: (channel: string, l: Listener) => void handlers.set(channel, l),
    removeHandler: (channel: string) => void handlers.delete(channel),
    invoke: (method: unknown, payload?: unknown, sender = { id: 1 }) =>
      handlers.get(IPC_INVOKE)!({ sender } as unknown as IpcMainInvokeEvent, method, payload),
    handlers,
  };
}

let dir: string;
let svc: LibraryService;
let ipc: ReturnType<typeof fakeIpc>;
let handlers: Handlers;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tintype-ipc-'));
  svc = new LibraryService({
    dataDir: dir,
    engineFactory: () => sharpProcessor(),
    catalog: testCatalog,
    mode: 'electron',
    version: 'test',
  });
  svc.start();
  ipc = fakeIpc();
  handlers = {
    ...serviceHandlers(svc),
    'shell.reveal': () => {
      throw new Error('boom: the shell is gone');
    },
  };
  registerIpc(ipc, handlers, {
    validateResponses: true,
    isTrustedSender: (e) => (e.sender as unknown as { id: number }).id === 1,
  });
});
afterAll(async () => {
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

const error = async (method: unknown, payload?: unknown) => {
  const r = await ipc.invoke(method, payload);
  if (r.ok) throw new Error(`expected an error for ${String(method)} ${JSON.stringify(payload)}`);
  return r.error;
};

describe('IPC validation', () => {
  it('answers well-formed calls', async () => {
    const r = await ipc.invoke('projects.create', { name: '  Grandpa  ' });
    expect(r).toMatchObject({ ok: true, value: { name: 'Grandpa', assetCount: 0 } });
    const list = await ipc.invoke('projects.list');
    expect(list.ok && (list.value as unknown[]).length).toBe(1);
  });

  it('rejects malformed payloads with BAD_REQUEST and a message naming the problem', async () => {
    expect(await error('projects.create', { name: 42 })).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('name'),
    });
    expect(await error('projects.create', {})).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await error('projects.create', { name: '   ' })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await error('projects.create', { name: 'x', sneaky: true })).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('sneaky'),
    });
    expect(await error('projects.create', 'a string')).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await error('projects.create', null)).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await error('projects.rename', { id: -1, name: 'x' })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await error('projects.rename', { id: 1.5, name: 'x' })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await error('assets.import', { projectId: 1, paths: ['relative/photo.jpg'] })).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('must be an absolute path'),
    });
    expect(await error('assets.import', { projectId: 1, paths: [] })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(
      await error('batch.start', { target: { kind: 'everything' }, recipe: { ops: ['colorize'] } }),
    ).toMatchObject({ code: 'BAD_REQUEST' });
    expect(
      await error('batch.start', {
        target: { kind: 'project', projectId: 1 },
        recipe: { ops: ['colorize', 'colorize'] },
      }),
    ).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('each op at most once'),
    });
    expect(
      await error('batch.start', { target: { kind: 'project', projectId: 1 }, recipe: { ops: ['rm -rf'] } }),
    ).toMatchObject({ code: 'BAD_REQUEST' });
    expect(
      await error('preview.render', {
        assetId: 1,
        recipe: { ops: ['colorize'], options: { renderSize: 1e9 } },
      }),
    ).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await error('settings.update', { threads: 'all' })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await error('settings.update', { theme: 'neon' })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await error('export.run', { renderIds: [1], format: 'exe' })).toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('rejects unknown methods, including prototype names and non-strings', async () => {
    for (const m of ['nope', '__proto__', 'constructor', 'toString', 42, null, { method: 'projects.list' }]) {
      expect(await error(m, {})).toMatchObject({ code: 'UNKNOWN_METHOD' });
    }
  });

  it('reports missing records, desktop-only methods and failing handlers as errors', async () => {
    expect(await error('projects.rename', { id: 999, name: 'x' })).toEqual({
      code: 'NOT_FOUND',
      message: 'no project with id 999',
    });
    expect(await error('dialog.openFiles', {})).toMatchObject({ code: 'UNAVAILABLE' });
    expect(await error('shell.reveal', { path: '/tmp' })).toEqual({
      code: 'FAILED',
      message: 'boom: the shell is gone',
    });
    // ...and main carries on.
    expect((await ipc.invoke('app.info')).ok).toBe(true);
  });

  it('refuses calls from an untrusted frame', async () => {
    const r = await ipc.invoke('projects.list', {}, { id: 2 });
    expect(r).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
  });

  it('survives junk sent to every method', async () => {
    const junk: unknown[] = [
      undefined,
      null,
      0,
      -1,
      'x',
      [],
      [1, 2],
      { id: 'x' },
      { ids: [0] },
      { projectId: {} },
      { recipe: 5 },
      { __proto__: { id: 1 } },
      JSON.parse('{"__proto__": {"polluted": 1}}'),
    ];
    let answered = 0;
    for (const m of METHODS) {
      if (m === 'dialog.openFiles' || m === 'dialog.openFolder') continue;
      for (const p of junk) {
        const r = await ipc.invoke(m, p);
        expect(typeof r.ok).toBe('boolean');
        answered++;
      }
    }
    expect(answered).toBeGreaterThan(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await ipc.invoke('projects.list')).ok).toBe(true);
  });

  it('answers match the contract (checked on every call here)', async () => {
    const p = (await ipc.invoke('projects.create', { name: 'contract' })) as {
      ok: true;
      value: { id: number };
    };
    const photo = join(dir, 'c.jpg');
    await writePhoto(photo, 20, 16, 1, true); // grey: colorize skips colour photos
    const imp = await ipc.invoke('assets.import', { projectId: p.value.id, paths: [photo] });
    expect(imp.ok).toBe(true);
    const b = await ipc.invoke('batch.start', {
      target: { kind: 'project', projectId: p.value.id },
      recipe: { ops: ['colorize'] },
    });
    expect(b).toMatchObject({ ok: true, value: { queued: 1 } });
    await svc.idle();
    for (const [m, payload] of [
      ['assets.list', { projectId: p.value.id }],
      ['jobs.list', {}],
      ['settings.get', {}],
      ['models.list', {}],
      ['app.stats', {}],
    ] as const) {
      const r = await ipc.invoke(m, payload);
      expect(r.ok ? 'ok' : r.error.message).toBe('ok');
    }
  });
});
