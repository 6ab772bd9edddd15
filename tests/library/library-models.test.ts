import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/log';
import { registryCatalog } from '../../src/library/backend';
import { serviceHandlers } from '../../src/library/dispatch';
import { dispatch } from '../../src/library/dispatch';
import { LibraryService } from '../../src/library/service';
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
 * The Models page's backend over the real model manager, downloading from a local HTTP server
 * (nothing reaches the internet): install with progress events, cancel mid-download, remove.
 */

const MODEL = colorizerModel({ padFloats: 64_000, seed: 3 });
let server: TestServer;
let dir: string;
let svc: LibraryService;
const events: ApiEvent[] = [];

beforeAll(async () => {
  server = await startServer({
    '/m.onnx': { body: MODEL },
    '/m.hash': { body: `${crc32Of(MODEL)}\n` },
    '/slow.onnx': { body: MODEL, stallAfter: 50_000 },
    '/slow.hash': { body: `${crc32Of(MODEL)}\n` },
  });
  dir = mkdtempSync(join(tmpdir(), 'tintype-models-'));
  const modelsDir = join(dir, 'models');
  const catalog = catalogOf(
    entry('grandma-colorizer', [{ url: server.url('/m.onnx'), crc32Url: server.url('/m.hash') }], {
      description: 'for tests',
    }),
    entry('slow-colorizer', [{ url: server.url('/slow.onnx'), crc32Url: server.url('/slow.hash') }]),
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

const handlers = () => serviceHandlers(svc);
const call = async (method: string, payload: unknown) => {
  const r = await dispatch(handlers(), method, payload, { validateResponses: true });
  if (!r.ok) throw new Error(r.error.message);
  return r.value as never;
};
const until = async (pred: () => boolean, what: string) => {
  for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!pred()) throw new Error(`timed out waiting for ${what}`);
};

describe('models page backend', () => {
  it('lists the catalog with nothing installed', async () => {
    const r: { models: { id: string; installed: boolean; description: string | null }[] } = await call(
      'models.catalog',
      {},
    );
    expect(r.models.map((m) => [m.id, m.installed])).toEqual([
      ['grandma-colorizer', false],
      ['slow-colorizer', false],
    ]);
    expect(r.models[0].description).toBe('for tests');
    expect(await call('models.list', {})).toEqual([]);
  });

  it('installs in the background with progress events; the model is then usable', async () => {
    expect(await call('models.install', { id: 'grandma-colorizer' })).toEqual({ started: true });
    await until(
      () =>
        events.some(
          (e) =>
            e.type === 'model' && e.id === 'grandma-colorizer' && !['installing', 'sized'].includes(e.state),
        ),
      'install',
    );
    // 'sized' (the background download-size answer) is not part of the install's life.
    const mine = events.filter(
      (e) => e.type === 'model' && e.id === 'grandma-colorizer' && e.state !== 'sized',
    );
    expect(mine.at(-1)).toMatchObject({ state: 'installed', error: null });
    expect(mine.some((e) => e.type === 'model' && e.progress?.phase === 'download')).toBe(true);
    const listed: { id: string; task: string }[] = await call('models.list', {});
    expect(listed.map((m) => [m.id, m.task])).toEqual([['grandma-colorizer', 'colorize']]);
    const row = (
      (await call('models.catalog', {})) as {
        models: { id: string; installed: boolean; removable: boolean; origin: string }[];
      }
    ).models[0];
    expect(row).toMatchObject({ installed: true, removable: true, origin: 'catalog' });
  });

  it('cancels a download midway, keeping the partial file for a later resume', async () => {
    await call('models.install', { id: 'slow-colorizer' });
    await until(
      () =>
        events.some(
          (e) =>
            e.type === 'model' && e.id === 'slow-colorizer' && (e.progress?.receivedBytes ?? 0) >= 50_000,
        ),
      'progress',
    );
    const rows = ((await call('models.catalog', {})) as { models: { id: string; installing: boolean }[] })
      .models;
    expect(rows.find((m) => m.id === 'slow-colorizer')?.installing).toBe(true);
    expect(await call('models.cancelInstall', { id: 'slow-colorizer' })).toEqual({ canceled: true });
    await until(
      () => events.some((e) => e.type === 'model' && e.id === 'slow-colorizer' && e.state === 'canceled'),
      'cancel',
    );
    const after = (
      (await call('models.catalog', {})) as {
        models: { id: string; installing: boolean; partialBytes: number }[];
      }
    ).models.find((m) => m.id === 'slow-colorizer')!;
    expect(after.installing).toBe(false);
    expect(after.partialBytes).toBe(50_000);
  });

  it('removes an installed model', async () => {
    expect(await call('models.remove', { id: 'grandma-colorizer' })).toEqual({ ok: true });
    expect(await call('models.list', {})).toEqual([]);
    await expect(call('models.remove', { id: 'grandma-colorizer' })).rejects.toThrow(/grandma-colorizer/);
  });
});
