import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Logger, userDataDir } from '../engine/index';
import { openBackend } from '../library/backend';
import { serviceHandlers } from '../library/dispatch';
import { fileLogger } from '../library/log';
import { LoopLag } from '../library/loop-lag';
import type { LibraryService } from '../library/service';
import { version } from '../../package.json';
import { createHttpServer } from './http';
import { MAX_UPLOAD_BYTES } from '../library/upload';

export interface ServeOptions {
  /** 0 picks a free port. */
  port?: number;
  dataDir?: string;
  libraryDir?: string;
  modelDirs?: string[];
  /** A fixed token (tests); by default a fresh random one per run. */
  token?: string;
  /** The built renderer; found next to this bundle or in <package>/out/renderer when absent. */
  staticDir?: string | null;
  /** Also print log lines to stderr. */
  verbose?: boolean;
}

export interface Serving {
  url: string;
  port: number;
  token: string;
  service: LibraryService;
  lag: LoopLag;
  log: Logger;
  close(): Promise<void>;
}

/**
 * Finds out/renderer whether this runs as out/main/serve.js or from src/ under tsx. Only a built
 * renderer counts (its index.html loads bundles from assets/): from src/server the walk up passes
 * src/renderer, whose index.html is the unbuilt template and would show a blank page.
 */
export function findRendererDir(from = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    for (const candidate of [join(dir, 'renderer'), join(dir, 'out', 'renderer')]) {
      if (existsSync(join(candidate, 'index.html')) && existsSync(join(candidate, 'assets')))
        return candidate;
    }
    dir = dirname(dir);
  }
  return null;
}

/**
 * The headless mode: the desktop app's backend (real library, real engine) behind the same API on
 * 127.0.0.1, for a browser, the end-to-end tests and machines without a display.
 */
export async function serve(opts: ServeOptions = {}): Promise<Serving> {
  const dataDir = resolve(opts.dataDir ?? userDataDir());
  const logFile = join(dataDir, 'logs', 'serve.log');
  const log = fileLogger(logFile, opts.verbose);
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const staticDir =
    opts.staticDir === undefined ? findRendererDir() : opts.staticDir && resolve(opts.staticDir);
  if (!staticDir) log.warn('serve: no built renderer found (npm run build); serving the API only');

  const lag = new LoopLag();
  const service = openBackend({
    dataDir,
    libraryDir: opts.libraryDir,
    modelDirs: opts.modelDirs,
    mode: 'server',
    version,
    log,
    logFile,
  });
  const server = createHttpServer({
    handlers: serviceHandlers(service, lag),
    token,
    staticDir,
    resolveMedia: (key) => service.resolveMedia(key),
    subscribe: (l) => service.on(l),
    upload: (projectId, name, body) => service.uploadAsset(projectId, name, body, MAX_UPLOAD_BYTES),
    download: (id) => service.downloadFile(id),
    maxUploadBytes: MAX_UPLOAD_BYTES,
    log,
    dispatch: { validateResponses: true, onError: (m, err) => log.warn(`${m}: ${(err as Error).message}`) },
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const resumed = service.start();
  log.info(
    `serve: listening on 127.0.0.1:${port}${resumed ? `, resumed ${resumed} interrupted job(s)` : ''}`,
  );

  let closing: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    port,
    token,
    service,
    lag,
    log,
    close() {
      closing ??= (async () => {
        server.endStreams();
        server.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 50));
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await service.close();
        lag.stop();
      })();
      return closing;
    },
  };
}
