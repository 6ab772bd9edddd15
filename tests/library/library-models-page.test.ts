import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/log';
import { ModelRegistry } from '../../src/engine/models/registry';
import { registryCatalog } from '../../src/library/backend';
import { dispatch, serviceHandlers } from '../../src/library/dispatch';
import { LibraryService } from '../../src/library/service';
import type { ModelRow } from '../../src/shared/api';
import type { ApiEvent } from '../../src/shared/bridge';
import {
  catalogOf,
  colorizerModel,
  crc32Of,
  entry,
  startServer,
  type TestServer,
} from '../helpers/catalog-fixtures';
import { sharpProcessor } from '../helpers/library-helpers';

/**
 * The Models page: plain one-line descriptions (the technical one kept apart), download sizes,
 * recommended models, the default model per task, and an install that fails offline in words.
 */

const MODEL = colorizerModel({ padFloats: 2_000, seed: 5 });
let server: TestServer;
let dir: string;
let svc: LibraryService;
const events: ApiEvent[] = [];

beforeAll(async () => {
  server = await startServer({ '/a.onnx': { body: MODEL }, '/a.hash': { body: `${crc32Of(MODEL)}\n` } });
  dir = mkdtempSync(join(tmpdir(), 'tintype-models-page-'));
  const modelsDir = join(dir, 'models');
  const catalog = catalogOf(
    entry('vivid', [{ url: server.url('/a.onnx'), crc32Url: server.url('/a.hash') }], {
      description: 'Bold colours for portraits. Uses a 34-layer residual encoder with spectral norm.',
      recommended: true,
      sizeBytes: 123_456_789,
    }),
    entry('calm', [{ url: server.url('/a.onnx'), crc32Url: server.url('/a.hash') }], {
      description: 'Calmer colours.',
    }),
    // Listed nowhere and the server does not have it either: nobody can say its size.
    entry('gone', [{ url: server.url('/gone.onnx'), crc32Url: server.url('/gone.hash') }]),
    // .invalid never resolves (RFC 2606): as with no internet, the name lookup fails.
    entry('far-away', [
      {
        url: 'https://models.example.invalid/far/model.onnx',
        crc32Url: 'https://models.example.invalid/far/x.hash',
      },
    ]),
  );
  svc = new LibraryService({
    dataDir: join(dir, 'data'),
    engineFactory: () => sharpProcessor(),
    catalog: registryCatalog({ modelDirs: [modelsDir], log: silentLogger }),
    models: {
      store: { modelsDir, bundledDir: null },
      catalog,
      tuning: { progressIntervalMs: 0, retryDelayMs: 0 },
    },
    mode: 'server',
    version: 'test',
  });
  svc.on((e) => events.push(e));
});
afterAll(async () => {
  server.release();
  await svc.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = async <T>(method: string, payload: unknown): Promise<T> => {
  const r = await dispatch(serviceHandlers(svc), method, payload, { validateResponses: true });
  if (!r.ok) throw new Error(r.error.message);
  return r.value as T;
};
const rows = async () => (await call<{ models: ModelRow[] }>('models.catalog', {})).models;
const installed = async (id: string) => {
  await call('models.install', { id });
  for (let i = 0; i < 500; i++) {
    const last = events.filter((e) => e.type === 'model' && e.id === id).at(-1);
    if (last?.type === 'model' && last.state !== 'installing') return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no end to the install of ${id}`);
};

describe('models page', () => {
  it('shows one plain line per model, the download size and the recommended ones', async () => {
    const vivid = (await rows()).find((m) => m.id === 'vivid')!;
    expect(vivid).toMatchObject({
      description: 'Bold colours for portraits.',
      details: 'Bold colours for portraits. Uses a 34-layer residual encoder with spectral norm.',
      recommended: true,
      downloadBytes: 123_456_789,
      isDefault: false,
    });
    expect((await rows()).find((m) => m.id === 'calm')!.recommended).toBe(false);
  });

  it('fills a size the catalog does not list from the server (HEAD), and says when it cannot', async () => {
    const first = await rows();
    const vivid = first.find((m) => m.id === 'vivid')!;
    expect(vivid.sizeFrom).toBe('catalog');
    // Not listed: asked in the background, the page is not held up meanwhile.
    for (const id of ['calm', 'gone', 'far-away'])
      expect(['checking', 'server', 'offline', 'unlisted']).toContain(
        first.find((m) => m.id === id)!.sizeFrom,
      );
    for (let i = 0; i < 500; i++) {
      const sized = new Set(events.flatMap((e) => (e.type === 'model' && e.state === 'sized' ? [e.id] : [])));
      if (['calm', 'gone', 'far-away'].every((id) => sized.has(id))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const after = await rows();
    expect(after.find((m) => m.id === 'calm')).toMatchObject({
      downloadBytes: MODEL.length,
      sizeFrom: 'server',
    });
    expect(after.find((m) => m.id === 'gone')).toMatchObject({ downloadBytes: null, sizeFrom: 'unlisted' });
    expect(after.find((m) => m.id === 'far-away')).toMatchObject({
      downloadBytes: null,
      sizeFrom: 'offline',
    });
    // One HEAD per entry, not a download, and not asked again on every listing.
    const heads = server.log.filter((r) => r.path === '/a.onnx');
    expect(heads.map((r) => r.method)).toEqual(['HEAD']);
    await rows();
    expect(server.log.filter((r) => r.path === '/a.onnx')).toHaveLength(1);
  });

  it('sets the default model per task; the page says which one it is', async () => {
    expect((await installed('vivid')).state).toBe('installed');
    expect((await installed('calm')).state).toBe('installed');
    await call('models.setDefault', { task: 'colorize', id: 'calm' });
    let r = await rows();
    expect(r.filter((m) => m.isDefault).map((m) => m.id)).toEqual(['calm']);
    await call('models.setDefault', { task: 'colorize', id: 'vivid' });
    r = await rows();
    expect(r.filter((m) => m.isDefault).map((m) => m.id)).toEqual(['vivid']);
    await expect(call('models.setDefault', { task: 'upscale', id: 'vivid' })).rejects.toThrow(
      /is a colorize model, not an upscale model/,
    );
    await expect(call('models.setDefault', { task: 'colorize', id: 'far-away' })).rejects.toThrow(
      /not installed/,
    );
  });

  it('sets and clears the default for films apart from the photos one; a removal clears it', async () => {
    // Installed by the test before; vivid is the photos' default.
    const filmDefault = async () => (await rows()).filter((m) => m.isFilmDefault).map((m) => m.id);
    expect(await filmDefault()).toEqual([]);
    await call('models.setDefault', { task: 'colorize', id: 'calm', film: true });
    const r = await rows();
    expect(r.filter((m) => m.isFilmDefault).map((m) => m.id)).toEqual(['calm']);
    expect(r.filter((m) => m.isDefault).map((m) => m.id)).toEqual(['vivid']);
    // What the engine reads: the film default beside the photo one.
    const registry = new ModelRegistry({ dirs: [join(dir, 'models')] });
    expect((await registry.resolve('colorize', { film: true })).id).toBe('calm');
    expect((await registry.resolve('colorize')).id).toBe('vivid');
    // Cleared: films take the photos' default again.
    await call('models.setDefault', { task: 'colorize', id: null, film: true });
    expect(await filmDefault()).toEqual([]);
    expect((await rows()).filter((m) => m.isDefault).map((m) => m.id)).toEqual(['vivid']);
    await registry.refresh();
    expect((await registry.resolve('colorize', { film: true })).id).toBe('vivid');
    await expect(call('models.setDefault', { task: 'upscale', id: 'calm', film: true })).rejects.toThrow(
      /is a colorize model, not an upscale model/,
    );
    // Removing the model that is the film default clears it there too.
    await call('models.setDefault', { task: 'colorize', id: 'calm', film: true });
    expect(await filmDefault()).toEqual(['calm']);
    await call('models.remove', { id: 'calm' });
    expect(await filmDefault()).toEqual([]);
    const saved = JSON.parse(readFileSync(join(dir, 'models', 'defaults.json'), 'utf8')) as object;
    expect(saved).toEqual({ colorize: 'vivid' });
    await registry.refresh();
    expect((await registry.resolve('colorize', { film: true })).id).toBe('vivid');
  });

  it('offline, an install says so in words, without raw addresses', async () => {
    const end = await installed('far-away');
    expect(end.state).toBe('failed');
    if (end.type !== 'model') throw new Error('not a model event');
    expect(end.error).toMatch(/^No internet connection/);
    expect(end.error).toMatch(/built-in models keep working/);
    expect(end.error).not.toMatch(/https?:|example\.invalid/);
  });
});
