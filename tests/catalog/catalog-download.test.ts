import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadProgress } from '../../src/shared/catalog';
import { ManifestSchema } from '../../src/shared/manifest';
import {
  CatalogError,
  installModel,
  listModels,
  remoteSize,
  removeModel,
  verifyModels,
} from '../../src/engine/catalog';
import type { InstallOptions, Sink } from '../../src/engine/catalog';
import {
  catalogOf,
  colorizerModel,
  crc32Of,
  entry,
  refusedUrl,
  sha256Of,
  startServer,
} from '../helpers/catalog-fixtures';
import type { TestServer } from '../helpers/catalog-fixtures';

const MODEL = colorizerModel({ padFloats: 64_000, seed: 7 }); // ~256 KB, many chunks
const OTHER = colorizerModel({ padFloats: 48_000, seed: 9 });

let server: TestServer;
let work: string;
let n = 0;

beforeAll(async () => {
  server = await startServer();
  work = await mkdtemp(join(tmpdir(), 'tintype-catalog-'));
});
afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});
afterEach(() => {
  server.log.length = 0;
  server.release();
});

/** A fresh models folder and fresh routes per test, so tests do not see each other's files. */
function fresh(body: Uint8Array = MODEL, route: Partial<Parameters<TestServer['routes']['set']>[1]> = {}) {
  n += 1;
  const base = `/t${n}`;
  server.routes.set(`${base}/m.onnx`, { body, ...route });
  server.routes.set(`${base}/m.hash`, { body: `${crc32Of(body)}\n` });
  const modelsDir = join(work, `models-${n}`);
  const urls = { url: server.url(`${base}/m.onnx`), crc32Url: server.url(`${base}/m.hash`) };
  return { base, modelsDir, urls, catalog: catalogOf(entry('test-model', [urls])) };
}

const quick: Partial<InstallOptions> = { retryDelayMs: 0, progressIntervalMs: 0, bundledDir: null };

async function expectCode(p: Promise<unknown>, code: string): Promise<CatalogError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CatalogError);
  expect((err as CatalogError).code).toBe(code);
  return err as CatalogError;
}

async function installedIds(modelsDir: string): Promise<string[]> {
  if (!existsSync(modelsDir)) return [];
  return (await readdir(modelsDir)).filter((f) => !f.startsWith('.'));
}

describe('catalog install', () => {
  it('downloads, checks the publisher CRC32 and installs model.onnx + manifest.json with its sha256', async () => {
    const t = fresh();
    const events: DownloadProgress[] = [];
    const m = await installModel('test-model', {
      ...quick,
      modelsDir: t.modelsDir,
      catalog: t.catalog,
      onProgress: (p) => events.push(p),
    });

    const dir = join(t.modelsDir, 'test-model');
    expect(m.dir).toBe(dir);
    expect(Buffer.compare(await readFile(join(dir, 'model.onnx')), Buffer.from(MODEL))).toBe(0);
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
    expect(manifest.sha256).toBe(sha256Of(MODEL));
    expect(manifest.file).toBe('model.onnx');
    expect(manifest.input.range).toEqual([0, 255]);
    expect(m.origin).toBe('catalog');
    expect(m.installedFrom).toBe(t.urls.url);

    const downloads = events.filter((e) => e.phase === 'download');
    expect(downloads.length).toBeGreaterThan(1);
    expect(downloads.at(-1)!.receivedBytes).toBe(MODEL.length);
    expect(downloads.every((e) => e.totalBytes === MODEL.length)).toBe(true);
    for (let i = 1; i < downloads.length; i++)
      expect(downloads[i].receivedBytes).toBeGreaterThanOrEqual(downloads[i - 1].receivedBytes);
    expect(events.map((e) => e.phase)).toEqual(
      expect.arrayContaining(['hash', 'download', 'verify', 'install', 'done']),
    );
    expect(events.at(-1)!.phase).toBe('done');
    // The work area is empty afterwards: no part file, sidecar, lock or staging folder left behind.
    expect(await readdir(join(t.modelsDir, '.partial'))).toEqual([]);
  });

  it('resumes with an HTTP Range request after the server cuts the connection half-way', async () => {
    const half = Math.floor(MODEL.length / 2);
    const t = fresh(MODEL, { cutAfter: half });
    const events: DownloadProgress[] = [];
    await installModel('test-model', {
      ...quick,
      modelsDir: t.modelsDir,
      catalog: t.catalog,
      onProgress: (p) => events.push(p),
    });

    const gets = server.log.filter((r) => r.path === `${t.base}/m.onnx`);
    expect(gets.length).toBe(2);
    expect(gets[0].range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(half);
    expect(gets[1].ifRange).toMatch(/^"/); // resumed only if the file has not changed
    const bytes = await readFile(join(t.modelsDir, 'test-model', 'model.onnx'));
    expect(sha256Of(bytes)).toBe(sha256Of(MODEL));
    expect(events.some((e) => e.phase === 'download' && e.resumedFromBytes === 0)).toBe(true);
  });

  it('keeps the partial file when cancelled and resumes it on the next install', async () => {
    const t = fresh(MODEL, { stallAfter: 100_000 });
    const ac = new AbortController();
    const first = installModel('test-model', {
      ...quick,
      modelsDir: t.modelsDir,
      catalog: t.catalog,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === 'download' && p.receivedBytes >= 100_000) ac.abort();
      },
    });
    await expectCode(first, 'CANCELLED');
    expect(await installedIds(t.modelsDir)).toEqual([]);
    const listing = await listModels({ modelsDir: t.modelsDir, catalog: t.catalog, bundledDir: null });
    expect(listing[0].partialBytes).toBe(100_000);

    server.log.length = 0;
    const events: DownloadProgress[] = [];
    await installModel('test-model', {
      ...quick,
      modelsDir: t.modelsDir,
      catalog: t.catalog,
      onProgress: (p) => events.push(p),
    });
    const gets = server.log.filter((r) => r.path === `${t.base}/m.onnx`);
    expect(gets.map((g) => g.range)).toEqual(['bytes=100000-']);
    expect(events.find((e) => e.phase === 'download')!.resumedFromBytes).toBe(100_000);
    expect(sha256Of(await readFile(join(t.modelsDir, 'test-model', 'model.onnx')))).toBe(sha256Of(MODEL));
  });

  it('treats a stalled transfer as dropped and resumes it after the idle timeout', async () => {
    const t = fresh(MODEL, { stallAfter: 80_000 });
    await installModel('test-model', {
      ...quick,
      modelsDir: t.modelsDir,
      catalog: t.catalog,
      idleTimeoutMs: 300,
    });
    const gets = server.log.filter((r) => r.path === `${t.base}/m.onnx`);
    expect(gets.map((g) => g.range)).toEqual([undefined, 'bytes=80000-']);
    expect(sha256Of(await readFile(join(t.modelsDir, 'test-model', 'model.onnx')))).toBe(sha256Of(MODEL));
  });

  it('starts over when a server ignores the Range request', async () => {
    const t = fresh(MODEL, { cutAfter: 50_000, ignoreRange: true });
    await installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog });
    const gets = server.log.filter((r) => r.path === `${t.base}/m.onnx`);
    expect(gets[1].range).toBe('bytes=50000-');
    expect(sha256Of(await readFile(join(t.modelsDir, 'test-model', 'model.onnx')))).toBe(sha256Of(MODEL));
  });

  it('rejects a file whose CRC32 differs from the publisher hash and installs nothing', async () => {
    const t = fresh();
    server.routes.set(`${t.base}/m.hash`, { body: '0badc0de\n' });
    const err = await expectCode(
      installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog }),
      'HASH_MISMATCH',
    );
    expect(err.message).toContain('0badc0de');
    expect(err.message).toContain(crc32Of(MODEL));
    expect(await installedIds(t.modelsDir)).toEqual([]);
    expect(await readdir(join(t.modelsDir, '.partial'))).toEqual([]);
  });

  it('checks a SHA-256 pinned in the catalog as well as the CRC32', async () => {
    const t = fresh();
    const bad = catalogOf(entry('test-model', [t.urls], { sha256: 'ab'.repeat(32) }));
    await expectCode(
      installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: bad }),
      'HASH_MISMATCH',
    );
    expect(await installedIds(t.modelsDir)).toEqual([]);
    // Pinned hashes alone (no .hash file to fetch) are enough.
    const pinned = catalogOf(
      entry('test-model', [{ url: t.urls.url }], { sha256: sha256Of(MODEL), crc32: crc32Of(MODEL) }),
    );
    server.log.length = 0;
    const m = await installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: pinned });
    expect(m.manifest.sha256).toBe(sha256Of(MODEL));
    expect(server.log.some((r) => r.path.endsWith('.hash'))).toBe(false);
  });

  it('refuses to install without any hash to check against', async () => {
    const t = fresh();
    const none = catalogOf(entry('test-model', [{ url: t.urls.url }]));
    await expectCode(
      installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: none }),
      'NO_HASH',
    );
    expect(server.log.some((r) => r.path.endsWith('.onnx'))).toBe(false);
  });

  it('falls back to the mirror when the first URL answers 404', async () => {
    const t = fresh();
    const mirror = {
      url: server.url(`${t.base}/mirror/m.onnx`),
      crc32Url: server.url(`${t.base}/mirror/m.hash`),
    };
    server.routes.set(`${t.base}/mirror/m.onnx`, { body: MODEL });
    server.routes.set(`${t.base}/mirror/m.hash`, { body: crc32Of(MODEL) });
    const catalog = catalogOf(
      entry('test-model', [
        { url: server.url(`${t.base}/gone/m.onnx`), crc32Url: server.url(`${t.base}/gone/m.hash`) },
        mirror,
      ]),
    );
    const m = await installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog });
    expect(m.installedFrom).toBe(mirror.url);
    expect(server.log.map((r) => r.path)).toEqual([
      `${t.base}/gone/m.hash`,
      `${t.base}/mirror/m.hash`,
      `${t.base}/gone/m.onnx`,
      `${t.base}/mirror/m.onnx`,
    ]);
    expect(sha256Of(await readFile(m.modelPath))).toBe(sha256Of(MODEL));
  });

  it('falls back to the mirror on a 503 and when the first host refuses connections', async () => {
    const t = fresh();
    server.routes.set(`${t.base}/busy.onnx`, { body: '', status: 503 });
    const refused = await refusedUrl('/m.onnx');
    const catalog = catalogOf(
      entry('test-model', [{ url: refused }, { url: server.url(`${t.base}/busy.onnx`) }, t.urls]),
    );
    const m = await installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog });
    expect(m.installedFrom).toBe(t.urls.url);
  });

  it('says "offline or server unreachable" when no source can be reached', async () => {
    const t = fresh();
    const url = await refusedUrl('/m.onnx');
    const hash = await refusedUrl('/m.hash');
    const catalog = catalogOf(entry('test-model', [{ url, crc32Url: hash }]));
    const err = await expectCode(
      installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog }),
      'OFFLINE',
    );
    expect(err.message).toBe(`offline or server unreachable: ${hash}`);
    // With the hash pinned, the model URL itself is what fails.
    const pinned = catalogOf(entry('test-model', [{ url }], { crc32: crc32Of(MODEL) }));
    const err2 = await expectCode(
      installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: pinned }),
      'OFFLINE',
    );
    expect(err2.message).toBe(`offline or server unreachable: ${url}`);
    expect(await installedIds(t.modelsDir)).toEqual([]);
  });

  it('asks the servers for a download size with HEAD, trying mirrors, and says when none can be reached', async () => {
    const t = fresh();
    const refused = await refusedUrl('/m.onnx');
    const gone = server.url(`${t.base}/gone.onnx`);
    expect(await remoteSize([refused, gone, t.urls.url])).toBe(MODEL.length);
    expect(server.log.map((r) => [r.method, r.path])).toEqual([
      ['HEAD', `${t.base}/gone.onnx`],
      ['HEAD', `${t.base}/m.onnx`],
    ]);
    // Reached but not there: no size, and not "offline" either.
    expect(await remoteSize([refused, gone])).toBeNull();
    const err = await expectCode(remoteSize([refused]), 'OFFLINE');
    expect(err.message).toBe(`offline or server unreachable: ${refused}`);
    // A server that takes the connection and never answers counts as unreachable after the timeout.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/m.onnx`;
      await expectCode(remoteSize([url], { timeoutMs: 200 }), 'OFFLINE');
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it('reports an unwritable models folder before downloading anything', async () => {
    const t = fresh();
    // Tests may run as root, where chmod does not stop writes: a folder "inside" a regular file does.
    const file = join(work, `plain-file-${n}.txt`);
    await writeFile(file, 'not a folder');
    const modelsDir = join(file, 'models');
    const err = await expectCode(
      installModel('test-model', { ...quick, modelsDir, catalog: t.catalog }),
      'UNWRITABLE',
    );
    expect(err.message).toContain(modelsDir);
    expect(server.log).toEqual([]);
    expect(await readFile(file, 'utf8')).toBe('not a folder');
  });

  it('reports a full disk during the download and installs nothing', async () => {
    const t = fresh();
    let written = 0;
    const fullDisk = async (): Promise<Sink> => ({
      async write(chunk) {
        written += chunk.length;
        if (written > 60_000)
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
      async close() {},
    });
    const { writeError } = await import('../../src/engine/catalog/download');
    const sink = async (path: string): Promise<Sink> => {
      const s = await fullDisk();
      return {
        write: (c) => s.write(c).catch((e: unknown) => Promise.reject(writeError(path, e))),
        close: s.close,
      };
    };
    const err = await expectCode(
      installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog, openSink: sink }),
      'DISK_FULL',
    );
    expect(err.message).toMatch(/^disk full while writing .*test-model\.onnx\.part$/);
    expect(await installedIds(t.modelsDir)).toEqual([]);
  });

  it('rejects a download whose graph does not fit the catalog conventions', async () => {
    const twoChannels = colorizerModel({ outChannels: 2, padFloats: 1000 });
    const t = fresh(twoChannels);
    const err = await expectCode(
      installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog }),
      'MODEL_SHAPE',
    );
    expect(err.message).toContain('has 2 channels');
    expect(await installedIds(t.modelsDir)).toEqual([]);
    expect(await readdir(join(t.modelsDir, '.partial'))).toEqual([]);
  });

  it('runs two different downloads at once without mixing their files', async () => {
    const a = fresh(MODEL, { cutAfter: 70_000 });
    const b = fresh(OTHER, { cutAfter: 30_000 });
    const catalog = catalogOf(entry('model-a', [a.urls]), entry('model-b', [b.urls]));
    const modelsDir = a.modelsDir;
    const [ma, mb] = await Promise.all([
      installModel('model-a', { ...quick, modelsDir, catalog }),
      installModel('model-b', { ...quick, modelsDir, catalog }),
    ]);
    expect(sha256Of(await readFile(ma.modelPath))).toBe(sha256Of(MODEL));
    expect(sha256Of(await readFile(mb.modelPath))).toBe(sha256Of(OTHER));
    expect((await installedIds(modelsDir)).sort()).toEqual(['model-a', 'model-b']);
  });

  it('joins a second install of the same model instead of downloading it twice', async () => {
    const t = fresh();
    const seen: number[] = [];
    const p1 = installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog });
    const p2 = installModel('test-model', {
      ...quick,
      modelsDir: t.modelsDir,
      catalog: t.catalog,
      onProgress: (p) => seen.push(p.receivedBytes),
    });
    const [m1, m2] = await Promise.all([p1, p2]);
    expect(m1.modelPath).toBe(m2.modelPath);
    expect(server.log.filter((r) => r.path === `${t.base}/m.onnx`).length).toBe(1);
    expect(seen.at(-1)).toBe(MODEL.length);
  });

  it('refuses while another process holds the model lock, and takes over a dead one', async () => {
    const t = fresh();
    await mkdir(join(t.modelsDir, '.partial'), { recursive: true });
    const lockFile = join(t.modelsDir, '.partial', 'test-model.lock');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await writeFile(
        lockFile,
        JSON.stringify({ pid: child.pid, host: hostname(), at: new Date().toISOString() }),
      );
      const err = await expectCode(
        installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog }),
        'BUSY',
      );
      expect(err.message).toContain(`pid ${child.pid}`);
    } finally {
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // The holder is gone now: its lock is stale and the install proceeds.
    await installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog });
    expect(existsSync(lockFile)).toBe(false);
  });

  it('lists, verifies and removes installed models', async () => {
    const t = fresh();
    await installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog });
    const rows = await listModels({ modelsDir: t.modelsDir, catalog: t.catalog, bundledDir: null });
    expect(rows).toHaveLength(1);
    expect(rows[0].installed?.sizeOnDisk).toBeGreaterThan(MODEL.length);
    expect(rows[0].license).toBe('MIT');

    expect(await verifyModels([], { modelsDir: t.modelsDir, catalog: t.catalog, bundledDir: null })).toEqual([
      expect.objectContaining({ id: 'test-model', ok: true, sha256: sha256Of(MODEL) }),
    ]);
    await expectCode(
      installModel('test-model', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog }),
      'ALREADY_INSTALLED',
    );

    // A changed byte is caught.
    const file = rows[0].installed!.modelPath;
    const bytes = Buffer.from(await readFile(file));
    bytes[bytes.length - 10] ^= 0xff;
    await writeFile(file, bytes);
    const [bad] = await verifyModels(['test-model'], {
      modelsDir: t.modelsDir,
      catalog: t.catalog,
      bundledDir: null,
    });
    expect(bad.ok).toBe(false);
    expect(bad.problems[0]).toContain('SHA-256');

    const removed = await removeModel('test-model', { modelsDir: t.modelsDir, bundledDir: null });
    expect(removed.removed?.id).toBe('test-model');
    expect(await installedIds(t.modelsDir)).toEqual([]);
    await expectCode(
      removeModel('test-model', { modelsDir: t.modelsDir, bundledDir: null }),
      'NOT_INSTALLED',
    );
  });

  it('will not remove a bundled model', async () => {
    const t = fresh();
    const bundledDir = join(work, `bundled-${n}`);
    await installModel('test-model', { ...quick, modelsDir: bundledDir, catalog: t.catalog });
    await expectCode(removeModel('test-model', { modelsDir: t.modelsDir, bundledDir }), 'BUNDLED');
    const rows = await listModels({ modelsDir: t.modelsDir, catalog: t.catalog, bundledDir });
    expect(rows[0].installed?.origin).toBe('bundled');
    expect(rows[0].installed?.removable).toBe(false);
  });

  it('unknown ids name the catalog ids', async () => {
    const t = fresh();
    const err = await expectCode(
      installModel('nope', { ...quick, modelsDir: t.modelsDir, catalog: t.catalog }),
      'UNKNOWN_MODEL',
    );
    expect(err.message).toContain('test-model');
  });
});
