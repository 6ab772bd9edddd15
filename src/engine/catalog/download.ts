import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { CatalogError, errnoCode, errorMessage } from '../errors';
import { etaSeconds, RateMeter } from './meter';

/**
 * Resumable HTTP download with mirror fallback. The bytes go to `<dest>.part`, with a small JSON
 * sidecar naming the URL and validator they came from, so a cut connection (or a killed app)
 * resumes with a Range request instead of starting a 900 MB file again. Only a complete file is
 * renamed to `dest`; checking its hash is the caller's job.
 */

/** Where downloaded bytes go; injectable so tests can simulate a full disk. */
export interface Sink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
export type SinkFactory = (path: string, append: boolean) => Promise<Sink>;

export interface TransferProgress {
  url: string;
  receivedBytes: number;
  totalBytes: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
  resumedFromBytes: number;
}

export interface DownloadOptions {
  /** Primary URL first, then mirrors. */
  urls: string[];
  dest: string;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  /** Resumed retries per URL after a connection drops mid-transfer. */
  retries?: number;
  retryDelayMs?: number;
  /** A transfer with no bytes for this long counts as dropped. */
  idleTimeoutMs?: number;
  progressIntervalMs?: number;
  openSink?: SinkFactory;
  fetch?: typeof fetch;
}

export interface DownloadResult {
  url: string;
  bytes: number;
  /** Bytes reused from an earlier interrupted attempt (0 when the download started from scratch). */
  resumedFromBytes: number;
}

interface Sidecar {
  url: string;
  etag: string | null;
  lastModified: string | null;
  total: number | null;
}

/** Socket errors that mean "no route to the server at all" rather than "the transfer broke". */
const UNREACHABLE = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export const partPath = (dest: string): string => `${dest}.part`;
const sidecarPath = (dest: string): string => `${dest}.part.json`;

export const fileSink: SinkFactory = async (path, append) => {
  let fh;
  try {
    fh = await open(path, append ? 'a' : 'w');
  } catch (err) {
    throw writeError(path, err);
  }
  const handle = fh;
  return {
    async write(chunk) {
      let off = 0;
      try {
        while (off < chunk.length) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten;
      } catch (err) {
        throw writeError(path, err);
      }
    },
    async close() {
      await handle.sync().catch(() => undefined);
      await handle.close();
    },
  };
};

/** A write failure says which file and whether the disk is full or the folder unwritable. */
export function writeError(path: string, err: unknown): CatalogError {
  if (err instanceof CatalogError) return err;
  const code = errnoCode(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new CatalogError(`disk full while writing ${path}`, 'DISK_FULL', { cause: err });
  }
  return new CatalogError(`cannot write ${path}: ${errorMessage(err)}`, 'UNWRITABLE', { cause: err });
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

async function readSidecar(dest: string): Promise<Sidecar | null> {
  try {
    const s = JSON.parse(await readFile(sidecarPath(dest), 'utf8')) as Partial<Sidecar>;
    if (typeof s.url !== 'string') return null;
    return { url: s.url, etag: s.etag ?? null, lastModified: s.lastModified ?? null, total: s.total ?? null };
  } catch {
    return null;
  }
}

async function writeSidecar(dest: string, s: Sidecar): Promise<void> {
  try {
    await writeFile(sidecarPath(dest), JSON.stringify(s));
  } catch (err) {
    throw writeError(sidecarPath(dest), err);
  }
}

/** Removes an interrupted download and its sidecar. */
export async function discardPartial(dest: string): Promise<void> {
  await rm(partPath(dest), { force: true });
  await rm(sidecarPath(dest), { force: true });
}

/** Bytes of an interrupted download of `dest` that a new attempt would resume from. */
export async function partialBytes(dest: string): Promise<number> {
  if (!(await readSidecar(dest))) return 0;
  return (await sizeOf(partPath(dest))) ?? 0;
}

function parseContentRange(h: string | null): { start: number; total: number | null } | null {
  const m = h ? /^bytes\s+(\d+)-\d+\/(\d+|\*)$/i.exec(h.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), total: m[2] === '*' ? null : Number(m[2]) };
}

class Dropped extends Error {}
class SourceFailed extends Error {
  constructor(
    message: string,
    readonly unreachable: boolean,
  ) {
    super(message);
  }
}

function cancelled(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function cancelError(): CatalogError {
  return new CatalogError(
    'download cancelled; the partial file is kept and a new install resumes it',
    'CANCELLED',
  );
}

export async function downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
  if (opts.urls.length === 0) throw new CatalogError('no download URL', 'BAD_CATALOG');
  const { dest, signal } = opts;
  const retries = opts.retries ?? 3;
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  const openSink = opts.openSink ?? fileSink;
  const doFetch = opts.fetch ?? fetch;
  const part = partPath(dest);

  // An interrupted transfer is resumed from the URL it came from, so that URL goes first.
  const previous = await readSidecar(dest);
  const urls =
    previous && opts.urls.includes(previous.url)
      ? [previous.url, ...opts.urls.filter((u) => u !== previous.url)]
      : opts.urls;

  const failures: SourceFailed[] = [];
  for (const url of urls) {
    try {
      return await fromSource(url);
    } catch (err) {
      if (err instanceof SourceFailed) {
        failures.push(err);
        continue;
      }
      throw err;
    }
  }
  if (failures.every((f) => f.unreachable)) {
    throw new CatalogError(`offline or server unreachable: ${urls.join(', ')}`, 'OFFLINE');
  }
  throw new CatalogError(`download failed: ${failures.map((f) => f.message).join('; ')}`, 'HTTP');

  async function fromSource(url: string): Promise<DownloadResult> {
    let drops = 0;
    let resumedFrom: number | null = null;
    for (;;) {
      if (cancelled(signal)) throw cancelError();
      const side = await readSidecar(dest);
      const offset = side?.url === url ? ((await sizeOf(part)) ?? 0) : 0;
      if (offset === 0 && side) await discardPartial(dest);
      resumedFrom ??= offset;
      try {
        return {
          ...(await attempt(url, offset, side?.url === url ? side : null)),
          resumedFromBytes: resumedFrom,
        };
      } catch (err) {
        if (!(err instanceof Dropped)) throw err;
        if (cancelled(signal)) throw cancelError();
        drops += 1;
        if (drops > retries)
          throw new SourceFailed(`${url}: connection kept dropping (${err.message})`, false);
        if (retryDelayMs > 0) await delay(retryDelayMs * drops, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  async function attempt(url: string, offset: number, side: Sidecar | null): Promise<DownloadResult> {
    const idle = new AbortController();
    const idleMs = opts.idleTimeoutMs ?? 30_000;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => idle.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    };
    const reqSignal = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      // A weak ETag may not be used in If-Range; Last-Modified may.
      const validator = side?.etag && !side.etag.startsWith('W/') ? side.etag : side?.lastModified;
      if (validator) headers['if-range'] = validator;
    }

    armIdle();
    let res: Response;
    try {
      res = await doFetch(url, { headers, signal: reqSignal, redirect: 'follow' });
    } catch (err) {
      clearTimeout(idleTimer);
      if (cancelled(signal)) throw cancelError();
      const code = errnoCode(err) ?? '';
      if (UNREACHABLE.has(code)) throw new SourceFailed(`${url}: ${code}`, true);
      throw new Dropped(code || errorMessage(err));
    }

    try {
      let total: number | null;
      let append: boolean;
      if (res.status === 206 && offset > 0) {
        const range = parseContentRange(res.headers.get('content-range'));
        if (!range || range.start !== offset) {
          // The server answered a different range than asked: start over rather than splice wrong bytes.
          await res.body?.cancel().catch(() => undefined);
          await discardPartial(dest);
          throw new Dropped(
            `server sent range ${res.headers.get('content-range') ?? '(none)'} for offset ${offset}`,
          );
        }
        total = range.total;
        append = true;
      } else if (res.status === 416 && offset > 0) {
        await res.body?.cancel().catch(() => undefined);
        if (side?.total === offset) return await finish(url, offset, offset);
        await discardPartial(dest);
        throw new Dropped('server refused the resume range');
      } else if (res.ok) {
        const len = res.headers.get('content-length');
        total = len !== null && /^\d+$/.test(len) ? Number(len) : null;
        append = false;
        offset = 0;
      } else {
        await res.body?.cancel().catch(() => undefined);
        throw new SourceFailed(
          `${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
          false,
        );
      }
      if (!res.body) throw new Dropped('empty response body');

      await writeSidecar(dest, {
        url,
        etag: res.headers.get('etag') ?? (append ? (side?.etag ?? null) : null),
        lastModified: res.headers.get('last-modified') ?? (append ? (side?.lastModified ?? null) : null),
        total,
      });

      const sink = await openSink(part, append);
      const resumedFrom = offset;
      let received = offset;
      const meter = new RateMeter();
      const every = opts.progressIntervalMs ?? 200;
      let lastReport = 0;
      const report = (force: boolean) => {
        if (!opts.onProgress) return;
        const now = performance.now();
        const rate = meter.add(received);
        if (!force && now - lastReport < every) return;
        lastReport = now;
        opts.onProgress({
          url,
          receivedBytes: received,
          totalBytes: total,
          bytesPerSecond: rate,
          etaSeconds: etaSeconds(received, total, rate),
          resumedFromBytes: resumedFrom,
        });
      };
      report(true);

      const reader = res.body.getReader();
      try {
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (err) {
            if (cancelled(signal)) throw cancelError();
            throw new Dropped(
              idle.signal.aborted ? errorMessage(idle.signal.reason) : (errnoCode(err) ?? errorMessage(err)),
            );
          }
          if (chunk.done) break;
          armIdle();
          await sink.write(chunk.value);
          received += chunk.value.length;
          report(false);
        }
      } finally {
        reader.releaseLock();
        await sink.close().catch(() => undefined);
      }
      report(true);
      if (total !== null && received !== total) throw new Dropped(`got ${received} of ${total} bytes`);
      return await finish(url, received, resumedFrom);
    } finally {
      clearTimeout(idleTimer);
    }
  }

  async function finish(url: string, bytes: number, resumedFromBytes: number): Promise<DownloadResult> {
    try {
      await rename(part, dest);
    } catch (err) {
      throw writeError(dest, err);
    }
    await rm(sidecarPath(dest), { force: true });
    return { url, bytes, resumedFromBytes };
  }
}

/** Fetches a small text file (a publisher's .hash), trying each URL in turn. */
export async function fetchText(
  urls: string[],
  opts: { signal?: AbortSignal; fetch?: typeof fetch; maxBytes?: number } = {},
): Promise<{ url: string; text: string }> {
  const doFetch = opts.fetch ?? fetch;
  const failures: SourceFailed[] = [];
  for (const url of urls) {
    try {
      const res = await doFetch(url, { signal: opts.signal, redirect: 'follow' });
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        failures.push(new SourceFailed(`${url}: HTTP ${res.status}`, false));
        continue;
      }
      const text = await res.text();
      if (text.length > (opts.maxBytes ?? 4096)) {
        failures.push(new SourceFailed(`${url}: not a hash file (${text.length} bytes)`, false));
        continue;
      }
      return { url, text };
    } catch (err) {
      if (cancelled(opts.signal)) throw cancelError();
      const code = errnoCode(err) ?? '';
      failures.push(new SourceFailed(`${url}: ${code || errorMessage(err)}`, UNREACHABLE.has(code)));
    }
  }
  if (failures.length > 0 && failures.every((f) => f.unreachable)) {
    throw new CatalogError(`offline or server unreachable: ${urls.join(', ')}`, 'OFFLINE');
  }
  throw new CatalogError(`could not fetch ${failures.map((f) => f.message).join('; ')}`, 'HTTP');
}

/**
 * The download size the first answering source announces (HEAD Content-Length, after redirects),
 * or null when every source answered without one. Throws OFFLINE when no source could be reached,
 * so a caller can say "offline" rather than "not listed".
 */
export async function remoteSize(
  urls: string[],
  opts: {
    signal?: AbortSignal;
    fetch?: typeof fetch;
    /** Per source; a source this slow counts as unreachable. */ timeoutMs?: number;
  } = {},
): Promise<number | null> {
  const doFetch = opts.fetch ?? fetch;
  let reached = false;
  for (const url of urls) {
    const limit = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    try {
      const res = await doFetch(url, {
        method: 'HEAD',
        headers: { 'accept-encoding': 'identity' },
        signal: opts.signal ? AbortSignal.any([opts.signal, limit]) : limit,
        redirect: 'follow',
      });
      await res.body?.cancel().catch(() => undefined);
      reached = true;
      const len = res.headers.get('content-length');
      if (res.ok && len !== null && /^\d+$/.test(len) && Number(len) > 0) return Number(len);
    } catch (err) {
      if (cancelled(opts.signal)) throw cancelError();
      // A timeout or a refused/unresolvable host: this source cannot be reached now.
      const code = errnoCode(err) ?? '';
      if (!UNREACHABLE.has(code) && !limit.aborted) reached = true;
    }
  }
  if (!reached && urls.length > 0) {
    throw new CatalogError(`offline or server unreachable: ${urls.join(', ')}`, 'OFFLINE');
  }
  return null;
}
