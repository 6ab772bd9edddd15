import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  Catalog,
  CatalogEntry,
  DownloadProgress,
  InstalledModel,
  InstallPhase,
} from '../../shared/catalog';
import { defaultCatalog, findEntry, manifestFor, MODEL_FILE } from './catalog';
import { discardPartial, downloadFile, fetchText } from './download';
import type { SinkFactory, TransferProgress } from './download';
import { CatalogError, isCatalogError } from '../errors';
import { digestFile, parseCrc32Text } from './hash';
import { acquireLock, Joiner } from './lock';
import { assertShapes } from './shapes';
import {
  commitModelDir,
  exists,
  makeStaging,
  modelsDirOf,
  prepareModelsDir,
  readModelDir,
  writeModelFiles,
} from './store';
import type { StoreOptions } from './store';

/**
 * Installing a catalog model: publisher hash, resumable download, hash check, shape check against
 * the catalog's conventions, then an atomic move into `<modelsDir>/<id>/`. Any failure leaves the
 * models folder as it was (an interrupted download stays in the work area, to be resumed).
 */

export interface InstallOptions extends StoreOptions {
  catalog?: Catalog;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Replace an installed copy. */
  force?: boolean;
  /** Transport knobs (tests, slow links). */
  fetch?: typeof fetch;
  openSink?: SinkFactory;
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
  progressIntervalMs?: number;
}

/** The downloaded file's path while it waits for its checks. */
export const downloadPath = (modelsDir: string, id: string): string =>
  join(modelsDir, '.partial', `${id}.onnx`);

interface ExpectedHash {
  crc32: string | null;
  sha256: string | null;
}

/** The publisher's CRC32 (pinned, or fetched from a source's .hash file) and any pinned SHA-256. */
export async function expectedHash(
  entry: CatalogEntry,
  opts: Pick<InstallOptions, 'signal' | 'fetch'> = {},
): Promise<ExpectedHash> {
  if (entry.crc32) return { crc32: entry.crc32, sha256: entry.sha256 };
  const hashUrls = entry.sources.flatMap((s) => (s.crc32Url ? [s.crc32Url] : []));
  if (hashUrls.length === 0) {
    if (entry.sha256) return { crc32: null, sha256: entry.sha256 };
    throw new CatalogError(`catalog entry ${entry.id} names no hash to check a download against`, 'NO_HASH');
  }
  let fetched: { url: string; text: string };
  try {
    fetched = await fetchText(hashUrls, opts);
  } catch (err) {
    // A pinned SHA-256 is enough on its own when only the .hash file is missing.
    if (entry.sha256 && isCatalogError(err, 'HTTP')) return { crc32: null, sha256: entry.sha256 };
    if (isCatalogError(err, 'HTTP')) {
      throw new CatalogError(`no publisher hash for ${entry.id}: ${err.message}`, 'NO_HASH', { cause: err });
    }
    throw err;
  }
  const crc32 = parseCrc32Text(fetched.text);
  if (!crc32) {
    throw new CatalogError(
      `${fetched.url} does not hold a CRC32 (8 hex digits): "${fetched.text.slice(0, 40)}"`,
      'NO_HASH',
    );
  }
  return { crc32, sha256: entry.sha256 };
}

const jobs = new Joiner<InstalledModel>();
const listeners = new Map<string, Set<(p: DownloadProgress) => void>>();

/**
 * Downloads, checks and installs catalog model `id`. A second call for the same id and folder while
 * one runs joins it (its onProgress also receives events; cancelling is the first caller's).
 */
export function installModel(id: string, opts: InstallOptions = {}): Promise<InstalledModel> {
  const modelsDir = modelsDirOf(opts);
  const key = `${modelsDir}\0${id}`;
  const subscribers = listeners.get(key) ?? new Set();
  listeners.set(key, subscribers);
  if (opts.onProgress) subscribers.add(opts.onProgress);
  const { promise } = jobs.run(key, async () => {
    try {
      return await runInstall(id, modelsDir, opts, (p) => subscribers.forEach((fn) => fn(p)));
    } finally {
      listeners.delete(key);
    }
  });
  return promise;
}

/** True while an install of `id` runs in this process. */
export function isInstalling(id: string, opts: StoreOptions = {}): boolean {
  return jobs.has(`${modelsDirOf(opts)}\0${id}`);
}

async function runInstall(
  id: string,
  modelsDir: string,
  opts: InstallOptions,
  emit: (p: DownloadProgress) => void,
): Promise<InstalledModel> {
  const entry = findEntry(opts.catalog ?? defaultCatalog(), id);
  const finalDir = join(modelsDir, id);
  if (!opts.force && (await exists(join(finalDir, 'manifest.json')))) {
    throw new CatalogError(
      `${id} is already installed in ${finalDir} (use force to reinstall)`,
      'ALREADY_INSTALLED',
    );
  }
  const partialDir = await prepareModelsDir(modelsDir);
  const lock = await acquireLock(partialDir, id);
  let staging: string | null = null;
  const dest = downloadPath(modelsDir, id);
  let last: DownloadProgress = {
    id,
    phase: 'hash',
    url: null,
    receivedBytes: 0,
    totalBytes: entry.sizeBytes,
    bytesPerSecond: 0,
    etaSeconds: null,
    resumedFromBytes: 0,
  };
  const phase = (p: InstallPhase, extra: Partial<DownloadProgress> = {}) => {
    last = {
      ...last,
      ...extra,
      phase: p,
      bytesPerSecond: p === 'download' ? (extra.bytesPerSecond ?? 0) : 0,
    };
    if (p !== 'download') last.etaSeconds = null;
    emit(last);
  };
  try {
    phase('hash');
    const want = await expectedHash(entry, opts);

    let url: string;
    if (await exists(dest)) {
      // Complete from an earlier run that stopped before installing: its hash check below decides.
      url = entry.sources[0].url;
    } else {
      const result = await downloadFile({
        urls: entry.sources.map((s) => s.url),
        dest,
        signal: opts.signal,
        fetch: opts.fetch,
        openSink: opts.openSink,
        retries: opts.retries,
        retryDelayMs: opts.retryDelayMs,
        idleTimeoutMs: opts.idleTimeoutMs,
        progressIntervalMs: opts.progressIntervalMs,
        onProgress: (t: TransferProgress) => phase('download', { ...t }),
      });
      url = result.url;
    }

    phase('verify');
    const digest = await digestFile(dest, opts.signal);
    const mismatch =
      want.crc32 && digest.crc32 !== want.crc32
        ? `CRC32 ${digest.crc32}, the publisher's is ${want.crc32}`
        : want.sha256 && digest.sha256 !== want.sha256
          ? `SHA-256 ${digest.sha256}, the catalog's is ${want.sha256}`
          : null;
    if (mismatch) {
      await rm(dest, { force: true });
      await discardPartial(dest);
      throw new CatalogError(
        `the download of ${id} from ${url} is corrupt or not the published file (${mismatch}); it was deleted and nothing was installed`,
        'HASH_MISMATCH',
      );
    }
    try {
      await assertShapes(dest, entry.conventions);
    } catch (err) {
      await rm(dest, { force: true });
      if (err instanceof CatalogError) {
        throw new CatalogError(
          `${id} from ${url} does not match the catalog's conventions, nothing was installed: ${err.message}`,
          err.code,
          { cause: err },
        );
      }
      throw err;
    }

    phase('install');
    staging = await makeStaging(modelsDir, id);
    await rename(dest, join(staging, MODEL_FILE));
    await writeModelFiles(staging, manifestFor(entry, digest.sha256), {
      origin: 'catalog',
      from: url,
      installedAt: new Date().toISOString(),
      ...(digest.crc32 ? { crc32: digest.crc32 } : {}),
    });
    const dir = await commitModelDir(staging, modelsDir, id);
    staging = null;
    const installed = await readModelDir(dir, false);
    if (typeof installed === 'string') throw new CatalogError(installed, 'BAD_MANIFEST');
    phase('done', { receivedBytes: digest.bytes, totalBytes: digest.bytes });
    return installed;
  } catch (err) {
    if (opts.signal?.aborted && !isCatalogError(err)) {
      throw new CatalogError(`installing ${id} was cancelled`, 'CANCELLED', { cause: err });
    }
    throw err;
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
    await lock.release();
  }
}
