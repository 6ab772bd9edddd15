import { z } from 'zod';
import { api, DESKTOP_ONLY, isMethod, type Method, type ParsedReq, type Res } from '../shared/api';
import type { ApiError, ApiResult } from '../shared/bridge';
import { farmStatus } from '../farm/status';
import { LibraryVersionError } from './db';
import { errorMessage } from '../shared/errors';
import type { LoopLag } from './loop-lag';
import { NotFoundError, UnavailableError, type LibraryService } from './service';

export type Handler<M extends Method> = (req: ParsedReq<M>) => Res<M> | Promise<Res<M>>;
export type Handlers = { [M in Method]?: Handler<M> };

/** The service's answers to every method that does not need native UI. */
export function serviceHandlers(s: LibraryService, lag?: LoopLag): Handlers {
  return {
    'app.info': () => s.info(),
    'app.stats': (r) => ({
      eventLoop: lag ? lag.snapshot(r.reset) : { meanMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, samples: 0 },
      uptimeSec: lag ? lag.uptimeSec : process.uptime(),
      rssMb: Math.round(process.memoryUsage().rss / 1048576),
      busy: s.busy,
    }),
    'settings.get': () => s.getSettings(),
    'settings.update': (r) => s.updateSettings(r),
    'farm.jobs': () => farmStatus(s.getSettings().farmRedis),
    'projects.list': () => s.listProjects(),
    'projects.create': (r) => s.createProject(r),
    'projects.rename': (r) => s.renameProject(r),
    'projects.update': (r) => s.updateProject(r),
    'projects.delete': (r) => s.deleteProject(r),
    'assets.list': (r) => s.listAssets(r),
    'assets.get': async (r) => {
      await s.measureAsset(r.id);
      return s.getAsset(r);
    },
    'assets.import': (r) => s.importAssets(r),
    'renders.delete': (r) => s.deleteRender(r),
    'assets.remove': (r) => s.removeAssets(r),
    'models.list': () => s.listModels(),
    'models.catalog': () => s.modelCatalog(),
    'models.install': (r) => s.models.install(r.id),
    'models.cancelInstall': (r) => ({ canceled: s.models.cancel(r.id) }),
    'models.remove': async (r) => {
      await s.models.remove(r.id);
      return { ok: true as const };
    },
    'models.setDefault': async (r) => {
      await s.setDefaultModel(r.task, r.id, r.scale, r.film);
      return { ok: true as const };
    },
    'models.probe': (r) => s.models.probe(r.path),
    'models.import': (r) => s.models.importFile(r.path, r.manifest),
    'preview.render': (r) => s.preview(r),
    'preview.sweep': (r) => s.sweep(r),
    'preview.clip': (r) => s.previewClip(r),
    'preview.cancelClip': () => ({ canceled: s.films.cancelClip() }),
    'video.playable': (r) => s.films.playable(r.assetId, r.renderId),
    'video.frame': async (r) => {
      const { path: _path, ...frame } = await s.films.frame(r.assetId, r.atSec);
      return frame;
    },
    'stack.frame': async (r) => {
      const { path: _path, ...frame } = await s.films.stackFrame(r.assetId, r.page);
      return frame;
    },
    'batch.start': (r) => s.startBatch(r),
    'jobs.list': (r) => s.listJobs(r),
    'jobs.cancel': (r) => s.cancelJobs(r),
    'jobs.retry': (r) => s.retryJobs(r),
    'jobs.clearFinished': () => s.clearFinished(),
    'export.run': (r) => s.exportRenders(r),
  };
}

function fail(code: ApiError['code'], message: string): ApiResult<never> {
  return { ok: false, error: { code, message } };
}

export interface DispatchOptions {
  /** Check answers against the contract too (development and tests: catches drift early). */
  validateResponses?: boolean;
  onError?: (method: string, err: unknown) => void;
}

/**
 * The single entry for every call from IPC or HTTP: unknown methods and payloads that fail the schema
 * are answered with an error before any handler runs, and no handler failure escapes as an exception.
 */
export async function dispatch(
  handlers: Handlers,
  method: unknown,
  payload: unknown,
  opts: DispatchOptions = {},
): Promise<ApiResult<unknown>> {
  if (!isMethod(method))
    return fail(
      'UNKNOWN_METHOD',
      `unknown method ${JSON.stringify(method)?.slice(0, 100) ?? String(method)}`,
    );
  const handler = handlers[method] as Handler<Method> | undefined;
  if (!handler) {
    return fail(
      'UNAVAILABLE',
      DESKTOP_ONLY.includes(method)
        ? `${method} is only available in the desktop app`
        : `${method} is not available here`,
    );
  }
  const parsed = api[method].req.safeParse(payload ?? undefined);
  if (!parsed.success)
    return fail('BAD_REQUEST', `${method}: invalid request: ${z.prettifyError(parsed.error)}`);
  try {
    const value = await handler(parsed.data as never);
    if (opts.validateResponses) {
      const checked = api[method].res.safeParse(value);
      if (!checked.success)
        return fail(
          'FAILED',
          `${method}: answer does not match the contract: ${z.prettifyError(checked.error)}`,
        );
      return { ok: true, value: checked.data };
    }
    return { ok: true, value };
  } catch (err) {
    opts.onError?.(method, err);
    const message = errorMessage(err);
    if (err instanceof NotFoundError) return fail('NOT_FOUND', message);
    if (err instanceof UnavailableError || err instanceof LibraryVersionError)
      return fail('UNAVAILABLE', message);
    return fail('FAILED', message);
  }
}
