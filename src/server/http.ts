import { timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import type { Logger } from '../engine/index';
import { dispatch, type DispatchOptions, type Handlers } from '../library/dispatch';
import { mediaHeaders, type MediaFile } from '../library/media';
import { UploadTooLargeError } from '../library/upload';
import { z } from 'zod';
import type { ApiEvent, ApiResult } from '../shared/bridge';

export interface HttpOptions {
  handlers: Handlers;
  token: string;
  /** The built renderer (out/renderer); the server serves it so a browser can run the UI unchanged. */
  staticDir: string | null;
  resolveMedia: (key: string) => MediaFile | null;
  subscribe: (listener: (e: ApiEvent) => void) => () => void;
  log: Logger;
  dispatch?: DispatchOptions;
  /** POST /upload: a browser's file into a project (the answer is the import report). */
  upload?: (projectId: number, name: string, body: IncomingMessage) => Promise<unknown>;
  /** GET /download/<render id>: a finished render as an attachment. */
  download?: (renderId: number) => { path: string; name: string } | null;
  /** Uploads larger than this are refused with 413 (default: the library's limit). */
  maxUploadBytes?: number;
}

const UploadQuery = z
  .object({ project: z.coerce.number().int().positive(), name: z.string().min(1).max(1024) })
  .strict();

/** A Content-Disposition header for a name with any characters (RFC 6266: ASCII fallback + UTF-8). */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

const MAX_BODY = 4 * 1024 * 1024;

// The same policy the desktop window enforces: nothing remote, no inline or eval'd script.
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  UNKNOWN_METHOD: 404,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  UNAVAILABLE: 501,
  FAILED: 500,
};

function sameToken(given: string | null | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendJson(res: ServerResponse, status: number, body: ApiResult<unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** A client mistake that has its own status: 400 (malformed), 413 (too large). */
class RequestError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The body, at most MAX_BODY bytes. A larger one is read to its end and thrown away (up to
 * DISCARD_LIMIT), so the client, still sending, gets the 413 answer instead of a reset connection.
 */
const DISCARD_LIMIT = 64 * 1024 * 1024;
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () =>
      new RequestError(413, `request body is over the ${MAX_BODY / (1024 * 1024)} MB limit`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > DISCARD_LIMIT) {
      reject(tooLarge());
      return;
    }
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
      else if (size > DISCARD_LIMIT) req.destroy();
    });
    req.on('end', () =>
      size > MAX_BODY ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

/** decodeURIComponent that answers 400 instead of throwing "URI malformed" (a 500). */
function decodePath(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RequestError(400, `malformed percent-encoding in the path: ${text.slice(0, 200)}`);
  }
}

/**
 * The API over HTTP on localhost, for the browser build of the UI and the end-to-end tests:
 *   POST /api/<method>   JSON body, `Authorization: Bearer <token>`, answers an ApiResult
 *   GET  /api/events     server-sent events (token in the query: EventSource cannot send headers)
 *   GET  /media/<key>    thumbnails, display copies, previews and films (token in the query, for
 *                        <img> and <video>; byte ranges for seeking)
 *   GET  /…              the built renderer
 * Every data route needs the per-run token; the Host header must be a loopback name, which stops a
 * web page from reaching the server through DNS rebinding.
 */
export function createHttpServer(opts: HttpOptions): Server & { endStreams(): void } {
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (err instanceof RequestError && !res.headersSent) {
        // The rest of an oversized body is not read: close the connection after answering.
        if (err.status === 413) res.setHeader('connection', 'close');
        sendJson(res, err.status, { ok: false, error: { code: 'BAD_REQUEST', message: err.message } });
        return;
      }
      opts.log.warn(`http: ${req.method} ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent)
        sendJson(res, 500, { ok: false, error: { code: 'FAILED', message: (err as Error).message } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('wrong host');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new RequestError(400, 'malformed request path');
    }
    const path = url.pathname;

    if (path.startsWith('/api/')) {
      const method = decodePath(path.slice('/api/'.length));
      if (method === 'events' && req.method === 'GET') {
        if (!sameToken(url.searchParams.get('token'), opts.token)) {
          sendJson(res, 401, {
            ok: false,
            error: { code: 'UNAUTHORIZED', message: 'missing or wrong token' },
          });
          return;
        }
        events(req, res);
        return;
      }
      const auth = req.headers.authorization;
      if (!sameToken(auth?.startsWith('Bearer ') ? auth.slice(7) : null, opts.token)) {
        sendJson(res, 401, { ok: false, error: { code: 'UNAUTHORIZED', message: 'missing or wrong token' } });
        return;
      }
      // A cross-site page cannot read the answer, but it must not be able to trigger work either.
      const origin = req.headers.origin;
      if (origin && origin !== `http://${req.headers.host}`) {
        sendJson(res, 403, {
          ok: false,
          error: { code: 'UNAUTHORIZED', message: `cross-origin request from ${origin}` },
        });
        return;
      }
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        sendJson(res, 405, { ok: false, error: { code: 'BAD_REQUEST', message: 'use POST' } });
        return;
      }
      let payload: unknown;
      try {
        const body = await readBody(req);
        payload = body.trim() ? JSON.parse(body) : undefined;
      } catch (err) {
        if (err instanceof RequestError) throw err;
        sendJson(res, 400, {
          ok: false,
          error: { code: 'BAD_REQUEST', message: `${method}: body is not JSON: ${(err as Error).message}` },
        });
        return;
      }
      const result = await dispatch(opts.handlers, method, payload, opts.dispatch);
      sendJson(res, result.ok ? 200 : (STATUS[result.error.code] ?? 500), result);
      return;
    }

    if (path === '/upload' || path.startsWith('/download/')) {
      const auth = req.headers.authorization;
      const given = auth?.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('token');
      if (!sameToken(given, opts.token)) {
        sendJson(res, 401, { ok: false, error: { code: 'UNAUTHORIZED', message: 'missing or wrong token' } });
        return;
      }
      if (path === '/upload') {
        await upload(req, res, url);
        return;
      }
      const id = Number(path.slice('/download/'.length));
      const file = Number.isSafeInteger(id) && id > 0 ? opts.download?.(id) : null;
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such render');
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': statSync(file.path).size,
        'content-disposition': attachment(file.name),
        'cache-control': 'no-store',
      });
      createReadStream(file.path).pipe(res);
      return;
    }

    if (path.startsWith('/media/')) {
      if (!sameToken(url.searchParams.get('token'), opts.token)) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('missing or wrong token');
        return;
      }
      const media = opts.resolveMedia(decodePath(path.slice('/media/'.length)));
      if (!media) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such media');
        return;
      }
      // Ranges let a <video> seek without loading the whole film first.
      const answer = mediaHeaders(media, statSync(media.path).size, req.headers.range);
      res.writeHead(answer.status, answer.headers);
      if (answer.status === 416 || req.method === 'HEAD') res.end();
      else createReadStream(media.path, answer.range ?? {}).pipe(res);
      return;
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed');
      return;
    }
    serveStatic(path, res);
  }

  async function upload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const origin = req.headers.origin;
    if (origin && origin !== `http://${req.headers.host}`) {
      sendJson(res, 403, {
        ok: false,
        error: { code: 'UNAUTHORIZED', message: `cross-origin request from ${origin}` },
      });
      return;
    }
    if (req.method !== 'POST' || !opts.upload) {
      sendJson(res, 405, { ok: false, error: { code: 'BAD_REQUEST', message: 'upload with POST' } });
      return;
    }
    const q = UploadQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!q.success) throw new RequestError(400, `upload: ${z.prettifyError(q.error)}`);
    const max = opts.maxUploadBytes;
    const declared = Number(req.headers['content-length']);
    if (max !== undefined && Number.isFinite(declared) && declared > max)
      throw new RequestError(413, `${q.data.name}: larger than the ${max}-byte upload limit`);
    try {
      const value = await opts.upload(q.data.project, q.data.name, req);
      sendJson(res, 200, { ok: true, value });
    } catch (err) {
      if (err instanceof UploadTooLargeError) throw new RequestError(413, err.message);
      sendJson(res, 400, { ok: false, error: { code: 'BAD_REQUEST', message: (err as Error).message } });
    }
  }

  function serveStatic(path: string, res: ServerResponse): void {
    if (!opts.staticDir) {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('this server was started without the UI (build it with npm run build)');
      return;
    }
    const rel = normalize(decodePath(path === '/' ? '/index.html' : path)).replace(/^([/\\])+/, '');
    const file = join(opts.staticDir, rel);
    if (
      rel.split(sep).includes('..') ||
      !file.startsWith(opts.staticDir + sep) ||
      !existsSync(file) ||
      !statSync(file).isFile()
    ) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const type = STATIC_TYPES[extname(file)] ?? 'application/octet-stream';
    const headers: Record<string, string> = {
      'content-type': type,
      'cache-control': type.startsWith('text/html') ? 'no-store' : 'public, max-age=3600',
    };
    if (type.startsWith('text/html')) {
      headers['content-security-policy'] = CSP;
      headers['x-frame-options'] = 'DENY';
    }
    res.writeHead(200, headers);
    createReadStream(file).pipe(res);
  }

  function events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    const off = opts.subscribe((e) => res.write(`data: ${JSON.stringify(e)}\n\n`));
    const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    streams.add(res);
    req.on('close', () => {
      clearInterval(beat);
      off();
      streams.delete(res);
    });
  }

  // On shutdown, event streams end properly instead of being cut mid-chunk.
  return Object.assign(server, {
    endStreams() {
      for (const res of streams) res.end();
      streams.clear();
    },
  });
}
