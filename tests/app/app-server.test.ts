import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/engine/log';
import { serviceHandlers } from '../../src/library/dispatch';
import { LoopLag } from '../../src/library/loop-lag';
import { LibraryService } from '../../src/library/service';
import { createHttpServer } from '../../src/server/http';
import { findRendererDir } from '../../src/server/serve';
import type { ApiEvent } from '../../src/shared/bridge';
import { sharpProcessor, testCatalog, writePhoto } from '../helpers/library-helpers';

const TOKEN = 'test-token-0123456789';
let dir: string;
let svc: LibraryService;
let server: Server;
let base: string;
let lag: LoopLag;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tintype-http-'));
  const ui = join(dir, 'ui');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>Tintype</title>');
  writeFileSync(join(ui, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'do not serve');
  svc = new LibraryService({
    dataDir: join(dir, 'data'),
    engineFactory: () => sharpProcessor(),
    catalog: testCatalog,
    mode: 'server',
    version: 'test',
  });
  svc.start();
  lag = new LoopLag();
  server = createHttpServer({
    handlers: serviceHandlers(svc, lag),
    token: TOKEN,
    staticDir: ui,
    resolveMedia: (k) => svc.resolveMedia(k),
    subscribe: (l) => svc.on(l),
    log: silentLogger,
    dispatch: { validateResponses: true },
    upload: (projectId, name, body) => svc.uploadAsset(projectId, name, body, 64 * 1024),
    download: (id) => svc.downloadFile(id),
    maxUploadBytes: 64 * 1024,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  lag.stop();
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = (
  method: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
) =>
  fetch(`${base}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

function rawGet(path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = request({ host: u.hostname, port: u.port, path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('headless server', () => {
  it('serves the UI with a strict CSP and nothing outside its folder', async () => {
    const r = await fetch(`${base}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await r.text()).toContain('<title>Tintype</title>');
    expect((await fetch(`${base}/assets/app.js`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${base}/..%2fsecret.txt`)).status).toBe(404);
    expect((await fetch(`${base}/assets/..%2f..%2fsecret.txt`)).status).toBe(404);
  });

  it('needs the token, a loopback Host and same-origin calls', async () => {
    expect((await call('projects.list', {}, {})).status).toBe(401);
    expect((await call('projects.list', {}, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect(
      (await call('projects.list', {}, { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' }))
        .status,
    ).toBe(403);
    expect(await rawGet('/', 'evil.example')).toBe(421);
    expect(await rawGet('/', `localhost:${new URL(base).port}`)).toBe(200);
    const ok = await call('projects.list', {});
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, value: [] });
  });

  it('answers bad requests with an error result and a 4xx status', async () => {
    const notJson = await fetch(`${base}/api/projects.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: '{name:',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('not JSON') },
    });
    const invalid = await call('projects.create', { name: 7 });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect((await call('no.such.method', {})).status).toBe(404);
    expect((await call('projects.rename', { id: 12345, name: 'x' })).status).toBe(404);
    expect((await call('dialog.openFolder', {})).status).toBe(501);
    expect(
      (await fetch(`${base}/api/projects.list`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(405);
  });

  it('a malformed percent-encoding is a 400, an oversized body a 413 with a message (not a reset)', async () => {
    for (const path of ['/%E0%A4%A', '/api/%E0%A4%A', '/media/%ZZ?token=' + TOKEN, '/assets/%']) {
      const r = await fetch(`${base}${path}`, {
        method: path.startsWith('/api/') ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(r.status, path).toBe(400);
      expect(await r.json()).toMatchObject({
        ok: false,
        error: { code: 'BAD_REQUEST', message: expect.stringContaining('malformed percent-encoding') },
      });
    }
    const big = JSON.stringify({ name: 'x'.repeat(5 * 1024 * 1024) });
    const r = await call('projects.create', JSON.parse(big));
    expect(r.status).toBe(413);
    expect(await r.json()).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringMatching(/over the 4 MB limit/) },
    });
    // Other odd paths: NUL bytes, encoded slashes and backslashes, dot segments: 4xx, never 500.
    for (const path of [
      '/%00',
      '/assets/%00.js',
      '/api/projects.list%00',
      '/media/%00?token=' + TOKEN,
      '/%5c..%5csecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/' + 'a'.repeat(5000),
    ]) {
      const r2 = await fetch(`${base}${path}`, {
        method: path.startsWith('/api/') ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(r2.status, path).toBeGreaterThanOrEqual(400);
      expect(r2.status, path).toBeLessThan(500);
      await r2.arrayBuffer();
    }
    // The server is still fine afterwards.
    expect((await call('projects.list', {})).status).toBe(200);
  });

  it('streams events and serves media by key only', async () => {
    const events: ApiEvent[] = [];
    const controller = new AbortController();
    const sse = await fetch(`${base}/api/events?token=${TOKEN}`, { signal: controller.signal });
    expect(sse.headers.get('content-type')).toBe('text/event-stream');
    const reader = sse.body!.getReader();
    const pump = (async () => {
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += new TextDecoder().decode(value);
        for (const block of buf.split('\n\n').slice(0, -1))
          if (block.startsWith('data: ')) events.push(JSON.parse(block.slice(6)));
        buf = buf.slice(buf.lastIndexOf('\n\n') + 2);
      }
    })();

    const project = (await (await call('projects.create', { name: 'Media' })).json()).value;
    const photo = join(dir, 'm.jpg');
    await writePhoto(photo, 30, 20, 1, true); // grey: colorize skips colour photos
    const imp = (await (await call('assets.import', { projectId: project.id, paths: [photo] })).json()).value;
    const thumb = imp.added[0].thumb as string;
    const img = await fetch(`${base}/media/${thumb}?token=${TOKEN}`);
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    const whole = new Uint8Array(await img.arrayBuffer());
    expect(whole.byteLength).toBeGreaterThan(100);
    expect(img.headers.get('accept-ranges')).toBe('bytes');
    // Byte ranges, as a <video> asks for them when it seeks.
    const part = await fetch(`${base}/media/${thumb}?token=${TOKEN}`, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${whole.byteLength}`);
    expect([...new Uint8Array(await part.arrayBuffer())]).toEqual([...whole.subarray(10, 20)]);
    const past = await fetch(`${base}/media/${thumb}?token=${TOKEN}`, {
      headers: { range: 'bytes=99999999-' },
    });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${whole.byteLength}`);
    expect((await fetch(`${base}/media/${thumb}`)).status).toBe(401);
    expect((await fetch(`${base}/media/thumb/9999?token=${TOKEN}`)).status).toBe(404);
    expect((await fetch(`${base}/media/preview/..%2f..%2flibrary.sqlite?token=${TOKEN}`)).status).toBe(404);
    expect((await fetch(`${base}/api/events?token=nope`)).status).toBe(401);

    await call('batch.start', {
      target: { kind: 'project', projectId: project.id },
      recipe: { ops: ['colorize'] },
    });
    await svc.idle();
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    await pump;
    const types = events.map((e) => e.type);
    expect(types).toContain('library');
    expect(types).toContain('batch-done');
    expect(events.some((e) => e.type === 'job' && e.job.status === 'done')).toBe(true);
  });

  it('reports event-loop lag and memory', async () => {
    const r = (await (await call('app.stats', { reset: true })).json()).value;
    expect(r.eventLoop.samples).toBeGreaterThan(0);
    expect(r.eventLoop.p99Ms).toBeGreaterThan(0);
    expect(r.rssMb).toBeGreaterThan(10);
  });
});

describe('uploads and downloads', () => {
  const post = (path: string, body: Uint8Array, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream', ...headers },
      body: new Uint8Array(body),
    });

  it('saves an upload under a safe name and imports it; refuses a bad token, bad query and a file too large', async () => {
    const p = svc.createProject({ name: 'uploads' });
    const photo = join(dir, 'up.jpg');
    await writePhoto(photo, 40, 30);
    const bytes = readFileSync(photo);
    const q = (name: string) => `/upload?project=${p.id}&name=${encodeURIComponent(name)}`;
    const ok = await post(q('../../a/..\\holiday:1.jpg'), bytes);
    expect(ok.status).toBe(200);
    const report = (await ok.json()) as { ok: true; value: { added: { name: string; path: string }[] } };
    expect(report.value.added.map((a) => a.name)).toEqual(['holiday_1.jpg']);
    const uploads = join(svc.layout.projectDir(p.id), 'uploads');
    expect(report.value.added[0].path).toBe(join(uploads, 'holiday_1.jpg'));
    expect(readFileSync(join(uploads, 'holiday_1.jpg')).equals(bytes)).toBe(true);

    expect((await post(q('x.jpg'), bytes, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(`/upload?project=abc&name=x.jpg`, bytes)).status).toBe(400);
    // Declared too large: refused before reading; streamed too large (no length): cut, nothing kept.
    expect((await post(q('big.jpg'), Buffer.alloc(65 * 1024))).status).toBe(413);
    const streamed = await fetch(`${base}${q('big2.jpg')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(8 * 1024));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(readdirSync(uploads)).toEqual(['holiday_1.jpg']);
  });

  it('downloads a finished render as an attachment, and only with the token', async () => {
    const p = svc.createProject({ name: 'dl' });
    const photo = join(dir, 'Grandpa é.jpg');
    await writePhoto(photo, 40, 30);
    await svc.importAssets({ projectId: p.id, paths: [photo] });
    await svc.startBatch({
      target: { kind: 'project', projectId: p.id },
      recipe: { ops: ['upscale'], options: { scale: 2 }, watermark: false },
      skipDone: false,
    });
    await svc.idle();
    const [asset] = svc.listAssets({ projectId: p.id });
    const render = svc.getAsset({ id: asset.id }).renders[0];
    const r = await fetch(`${base}/download/${render.id}?token=${TOKEN}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toBe(
      `attachment; filename="Grandpa _-tintype.png"; filename*=UTF-8''${encodeURIComponent('Grandpa é-tintype.png')}`,
    );
    expect(Buffer.from(await r.arrayBuffer()).equals(readFileSync(render.outputPath!))).toBe(true);
    expect((await fetch(`${base}/download/${render.id}`)).status).toBe(401);
    expect((await fetch(`${base}/download/99999?token=${TOKEN}`)).status).toBe(404);
  });
});

describe('which renderer `tintype serve` serves', () => {
  it('the built one, never the unbuilt template it passes when run from src/ (a blank page)', () => {
    const root = mkdtempSync(join(tmpdir(), 'tintype-find-renderer-'));
    try {
      mkdirSync(join(root, 'src', 'server'), { recursive: true });
      mkdirSync(join(root, 'src', 'renderer'), { recursive: true });
      writeFileSync(
        join(root, 'src', 'renderer', 'index.html'),
        '<script type="module" src="./src/main.tsx">',
      );
      expect(findRendererDir(join(root, 'src', 'server'))).toBeNull();
      mkdirSync(join(root, 'out', 'renderer', 'assets'), { recursive: true });
      writeFileSync(join(root, 'out', 'renderer', 'index.html'), '<script src="./assets/index.js">');
      expect(findRendererDir(join(root, 'src', 'server'))).toBe(join(root, 'out', 'renderer'));
      // As the shipped bundle: out/main/serve.js finds out/renderer beside it.
      mkdirSync(join(root, 'out', 'main'));
      expect(findRendererDir(join(root, 'out', 'main'))).toBe(join(root, 'out', 'renderer'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
