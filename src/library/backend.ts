import { EnginePool, ModelRegistry, type Logger, defaultModelDirs } from '../engine/index';
import type { ModelInfo } from '../shared/api';
import { scalesOf } from '../shared/manifest';
import type { EngineFactory, ModelCatalog, VideoRenderer } from './engine';
import { LibraryService } from './service';
import { engineVideoRenderer } from './video';

export interface BackendOptions {
  dataDir: string;
  libraryDir?: string;
  /** Model folders (<dir>/<id>/manifest.json); default: bundled models, then the user's. */
  modelDirs?: string[];
  mode: 'electron' | 'server';
  version: string;
  log: Logger;
  logFile?: string;
  /** Films and stacks; default: the engine's video pipeline. null turns them off. */
  video?: VideoRenderer | null;
}

/** The real engine: a pool of worker threads, so rendering never blocks the caller's event loop. */
export function enginePoolFactory(opts: { modelDirs?: string[]; log: Logger }): EngineFactory {
  return (s) =>
    new EnginePool({
      ep: s.executionProvider,
      threads: s.threads > 0 ? s.threads : undefined,
      workers: 1,
      modelDirs: opts.modelDirs,
      log: opts.log,
    });
}

/** Models the engine can use, re-read on every call so a model installed meanwhile shows up. */
export function registryCatalog(opts: { modelDirs?: string[]; log: Logger }): ModelCatalog {
  return {
    async list(): Promise<ModelInfo[]> {
      const registry = new ModelRegistry({ dirs: opts.modelDirs ?? defaultModelDirs(), log: opts.log });
      const models = await registry.list();
      return models
        .map((m) => ({
          id: m.id,
          name: m.name,
          version: m.version,
          task: m.task,
          scale: m.scale,
          scales: scalesOf(m),
          renderSize: m.renderSize ?? null,
          summary: m.summary ?? null,
          description: m.description ?? null,
          license: m.license,
        }))
        .sort((a, b) => a.task.localeCompare(b.task) || a.name.localeCompare(b.name));
    },
  };
}

/** The library service wired to the real engine and model catalog (Electron main and the server). */
export function openBackend(opts: BackendOptions): LibraryService {
  return new LibraryService({
    dataDir: opts.dataDir,
    libraryDir: opts.libraryDir,
    engineFactory: enginePoolFactory(opts),
    catalog: registryCatalog(opts),
    video: opts.video === undefined ? engineVideoRenderer(opts) : opts.video,
    log: opts.log,
    logFile: opts.logFile,
    mode: opts.mode,
    version: opts.version,
  });
}
