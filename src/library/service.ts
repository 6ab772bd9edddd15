import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { type StoreOptions, silentLogger, type Logger } from '../engine/index';
import type { Catalog } from '../shared/catalog';
import type { ParsedReq, Recipe, Res, Settings } from '../shared/api';
import { addsColour, type Task } from '../shared/ops';
import { ensureColour } from './colour';
import { deleteRender } from './render-delete';
import type { ApiEvent } from '../shared/bridge';
import { renderFileName } from '../shared/names';
import { openDatabase, type Db } from './db';
import type { EngineFactory, ModelCatalog, RenderEngine, VideoRenderer } from './engine';
import { exportRenders } from './export';
import { importPaths } from './importer';
import { saveUpload } from './upload';
import { JobStore } from './jobs-store';
import { LibraryLayout } from './layout';
import { resolveMedia, type MediaFile } from './media';
import { ModelManager } from './models';
import { FilmPreviews } from './playback';
import { Previewer } from './preview';
import { renderThumbPath } from './probe';
import { JobRunner } from './queue';
import { canonicalRecipe, recipeHash } from './recipe';
import { readLibraryDir, SettingsStore, writeLibraryDir } from './settings';
import { NotFoundError, Store } from './store';

export { NotFoundError } from './store';

/** A request that cannot be served in this mode (native dialogs in the browser, video without ffmpeg). */
export class UnavailableError extends Error {}

export interface ServiceOptions {
  /** The per-user data folder: config.json (where the library lives), logs. */
  dataDir: string;
  /** Overrides config.json (tests, `tintype serve --library`). */
  libraryDir?: string;
  engineFactory: EngineFactory;
  catalog: ModelCatalog;
  video?: VideoRenderer | null;
  log?: Logger;
  logFile?: string;
  mode: 'electron' | 'server';
  version: string;
  /** Where the model manager installs (default: the user's models folder) and what it offers. */
  models?: {
    store?: StoreOptions;
    catalog?: Catalog;
    tuning?: ConstructorParameters<typeof ModelManager>[0]['tuning'];
  };
}

type Listener = (e: ApiEvent) => void;

/**
 * Everything the UI can ask for, on top of the library database, the job queue and the engine. One
 * instance runs in Electron's main process or in the headless server; neither adds logic of its own.
 */
export class LibraryService {
  readonly layout: LibraryLayout;
  readonly db: Db;
  readonly store: Store;
  readonly jobs: JobStore;
  private readonly settings: SettingsStore;
  private readonly runner: JobRunner;
  private readonly previewer: Previewer;
  /** Films in the item view: playback, the scrubber's frames, range previews. */
  readonly films: FilmPreviews;
  readonly models: ModelManager;
  private readonly listeners = new Set<Listener>();
  private readonly log: Logger;
  private enginePromise: Promise<RenderEngine> | null = null;
  private engineError: string | null = null;
  private pendingLibraryDir: string | null = null;
  private closed = false;

  constructor(private readonly opts: ServiceOptions) {
    this.log = opts.log ?? silentLogger;
    this.layout = new LibraryLayout(opts.libraryDir ?? readLibraryDir(opts.dataDir));
    this.db = openDatabase(this.layout.dbFile);
    this.store = new Store(this.db, this.layout);
    this.jobs = new JobStore(this.db);
    this.settings = new SettingsStore(this.db);
    const engine = () => this.engine();
    this.previewer = new Previewer(this.store, this.layout, engine);
    this.films = new FilmPreviews(this.store, this.layout, engine, opts.video ?? null, this.log);
    this.runner = new JobRunner({
      store: this.store,
      jobs: this.jobs,
      layout: this.layout,
      engine,
      video: opts.video ?? null,
      emit: (e) => this.emit(e),
      log: this.log,
      concurrency: () => this.settings.read().concurrency,
      modelVersions: async () => new Map((await opts.catalog.list()).map((m) => [m.id, m.version])),
    });
    this.models = new ModelManager({ ...opts.models, emit: (e) => this.emit(e), log: this.log });
    this.log.info(`library open at ${this.layout.root}`);
  }

  /** Starts the queue; jobs interrupted by a crash or kill resume here. Returns how many resumed. */
  start(): number {
    return this.runner.start();
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: ApiEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn(`event listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** True while jobs are rendering. */
  get busy(): boolean {
    return this.runner.busy;
  }

  /** Resolves once every job now queued or running has finished (tests, `serve --exit-when-idle`). */
  async idle(): Promise<void> {
    while (
      this.runner.busy ||
      (this.db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'queued'").get() as { n: number }).n > 0
    ) {
      await this.runner.drain();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.runner.stop();
    this.models.close();
    const engine = this.enginePromise;
    this.enginePromise = null;
    // A render in progress is not waited for long: its job stays 'running' and is redone at the next
    // start, and the runner touches nothing once stopped, so the database can close under it.
    const grace = new Promise((r) => setTimeout(r, 3000).unref());
    if (engine) await Promise.race([engine.then((e) => e.close()).catch(() => {}), grace]);
    await Promise.race([this.runner.drain(), grace]);
    this.db.close();
    this.log.info('library closed');
  }

  private engine(): Promise<RenderEngine> {
    if (this.closed) return Promise.reject(new Error('the library is closing'));
    if (!this.enginePromise) {
      const s = this.settings.read();
      this.enginePromise = Promise.resolve()
        .then(() =>
          this.opts.engineFactory({
            executionProvider: s.executionProvider,
            threads: s.threads,
            concurrency: s.concurrency,
          }),
        )
        .then(
          (e) => {
            this.engineError = null;
            return e;
          },
          (err: unknown) => {
            this.engineError = `the engine could not start: ${(err as Error).message}`;
            this.log.warn(this.engineError);
            this.enginePromise = null;
            throw new Error(this.engineError);
          },
        );
    }
    return this.enginePromise;
  }

  /** New execution provider or threads: the next render gets a new engine, the old one closes when idle. */
  private resetEngine(): void {
    const old = this.enginePromise;
    this.enginePromise = null;
    if (old) void this.runner.drain().then(() => old.then((e) => e.close()).catch(() => {}));
  }

  // ---------- API ----------

  info(): Res<'app.info'> {
    return {
      version: this.opts.version,
      mode: this.opts.mode,
      platform: process.platform,
      dataDir: this.opts.dataDir,
      libraryDir: this.layout.root,
      logFile: this.opts.logFile ?? '',
      dialogs: this.opts.mode === 'electron',
      video: Boolean(this.opts.video),
      engineError: this.engineError,
    };
  }

  getSettings(): Res<'settings.get'> {
    const libraryDir = this.pendingLibraryDir ?? this.layout.root;
    return { ...this.settings.read(), libraryDir, restartRequired: libraryDir !== this.layout.root };
  }

  async updateSettings(patch: ParsedReq<'settings.update'>): Promise<Res<'settings.update'>> {
    const { libraryDir, ...rest } = patch;
    if (libraryDir !== undefined) {
      if (!isAbsolute(libraryDir))
        throw new Error(`library location must be an absolute path: ${libraryDir}`);
      await writeLibraryDir(this.opts.dataDir, libraryDir);
      this.pendingLibraryDir = resolve(libraryDir);
    }
    const before = this.settings.read();
    this.settings.write(rest);
    const after = this.settings.read();
    if (
      before.executionProvider !== after.executionProvider ||
      before.threads !== after.threads ||
      before.concurrency !== after.concurrency
    ) {
      this.resetEngine();
    }
    this.runner.pump();
    const settings = this.getSettings();
    const { restartRequired: _r, ...plain } = settings;
    this.emit({ type: 'settings', settings: plain as Settings });
    return settings;
  }

  listProjects(): Res<'projects.list'> {
    return this.store.listProjects();
  }

  createProject(req: ParsedReq<'projects.create'>): Res<'projects.create'> {
    const id = this.store.createProject(req.name, req.copyOriginals ?? this.settings.read().copyOriginals);
    this.emit({ type: 'library', projectId: id });
    return this.store.project(id);
  }

  renameProject(req: ParsedReq<'projects.rename'>): Res<'projects.rename'> {
    this.store.updateProject(req.id, { name: req.name });
    this.emit({ type: 'library', projectId: req.id });
    return this.store.project(req.id);
  }

  updateProject(req: ParsedReq<'projects.update'>): Res<'projects.update'> {
    this.store.updateProject(req.id, { copyOriginals: req.copyOriginals });
    this.emit({ type: 'library', projectId: req.id });
    return this.store.project(req.id);
  }

  /** Library-made files only (copies, thumbnails, display copies, renders): originals are never touched. */
  async deleteProject(req: ParsedReq<'projects.delete'>): Promise<Res<'projects.delete'>> {
    this.store.projectRow(req.id);
    const assetIds = (
      this.db.prepare('SELECT id FROM assets WHERE project_id = ?').all(req.id) as { id: number }[]
    ).map((r) => r.id);
    if (assetIds.length) this.cancelJobsOfAssets(assetIds);
    this.db.transaction(() => {
      this.store.deleteProject(req.id);
      this.db
        .prepare('DELETE FROM batches WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id)')
        .run();
    })();
    const removedFiles = await this.removeProjectFiles(req.id);
    this.log.info(`project ${req.id} deleted (${removedFiles} library files removed)`);
    this.emit({ type: 'library', projectId: null });
    return { ok: true, removedFiles };
  }

  private async removeProjectFiles(projectId: number): Promise<number> {
    const dir = this.layout.projectDir(projectId);
    let removed = 0;
    for (const sub of ['originals', 'thumbs', 'views', 'renders', 'uploads']) {
      const path = join(dir, sub);
      if (!this.layout.owns(path) || !existsSync(path)) continue;
      removed += (await readdir(path, { recursive: true })).length;
      await rm(path, { recursive: true, force: true });
    }
    await rmdir(dir).catch(() => {});
    return removed;
  }

  private cancelJobsOfAssets(assetIds: number[]): void {
    const jobIds = (
      this.db
        .prepare(
          "SELECT id FROM jobs WHERE asset_id IN (SELECT value FROM json_each(?)) AND status IN ('queued', 'running')",
        )
        .all(JSON.stringify(assetIds)) as { id: number }[]
    ).map((r) => r.id);
    if (jobIds.length) this.cancelJobs({ jobIds });
  }

  listAssets(req: ParsedReq<'assets.list'>): Res<'assets.list'> {
    this.store.projectRow(req.projectId);
    return this.store.listAssets(req);
  }

  getAsset(req: ParsedReq<'assets.get'>): Res<'assets.get'> {
    return { asset: this.store.asset(req.id), renders: this.store.rendersOf(req.id) };
  }

  async importAssets(req: ParsedReq<'assets.import'>): Promise<Res<'assets.import'>> {
    const report = await importPaths(
      { store: this.store, layout: this.layout, log: this.log },
      req.projectId,
      req.paths,
    );
    this.emit({ type: 'library', projectId: req.projectId });
    return report;
  }

  /**
   * A file sent by a browser (served mode has no shared file system with it): saved atomically in
   * the project's uploads folder under a safe name, then imported like any other path.
   */
  async uploadAsset(
    projectId: number,
    name: string,
    source: Readable,
    maxBytes?: number,
  ): Promise<Res<'assets.import'>> {
    this.store.projectRow(projectId);
    const path = await saveUpload(this.layout, projectId, name, source, maxBytes);
    this.log.info(`upload: ${name} saved as ${path}`);
    return this.importAssets({ projectId, paths: [path] });
  }

  /** A finished render's file for a browser download, named after its item. */
  downloadFile(renderId: number): { path: string; name: string } | null {
    const row = this.db
      .prepare(
        "SELECT r.output_path AS p, a.name AS name FROM renders r JOIN assets a ON a.id = r.asset_id WHERE r.id = ? AND r.status = 'done'",
      )
      .get(renderId) as { p: string | null; name: string } | undefined;
    const path = this.layout.abs(row?.p ?? null);
    if (!row || !path || !existsSync(path)) return null;
    return { path, name: renderFileName(row.name, path) };
  }

  async removeAssets(req: ParsedReq<'assets.remove'>): Promise<Res<'assets.remove'>> {
    const rows = this.store.listAssets({ ids: req.ids });
    this.cancelJobsOfAssets(req.ids);
    // Collect the library's own files for these assets before the rows (and their paths) are gone.
    const files: string[] = [];
    for (const id of req.ids) {
      const a = this.db.prepare('SELECT path, thumb_path, view_path FROM assets WHERE id = ?').get(id) as
        { path: string; thumb_path: string | null; view_path: string | null } | undefined;
      if (!a) continue;
      for (const p of [a.path, a.thumb_path, a.view_path]) if (p && !isAbsolute(p)) files.push(p);
      for (const r of this.db
        .prepare('SELECT output_path, view_path FROM renders WHERE asset_id = ?')
        .all(id) as {
        output_path: string | null;
        view_path: string | null;
      }[]) {
        for (const p of [r.output_path, r.view_path, r.view_path && renderThumbPath(r.view_path)])
          if (p && !isAbsolute(p)) files.push(p);
      }
    }
    const removed = this.store.deleteAssets(req.ids);
    for (const f of files) if (this.layout.owns(f)) await rm(this.layout.abs(f), { force: true });
    for (const pid of new Set(rows.map((a) => a.projectId))) this.emit({ type: 'library', projectId: pid });
    return { removed };
  }

  async deleteRender(req: ParsedReq<'renders.delete'>): Promise<Res<'renders.delete'>> {
    const r = await deleteRender(
      { db: this.db, store: this.store, layout: this.layout, log: this.log },
      req.id,
    );
    this.emit({ type: 'library', projectId: this.store.assetRow(r.assetId).project_id });
    return { ok: true, removedFiles: r.removedFiles };
  }

  /** A new default model: the next render starts a new engine, which reads it (the running one finishes first). */
  async setDefaultModel(task: Task, id: string | null, scale?: number, film?: boolean): Promise<void> {
    await this.models.setDefault(task, id, scale, film);
    this.resetEngine();
  }

  async listModels(): Promise<Res<'models.list'>> {
    return this.opts.catalog.list();
  }

  async modelCatalog(): Promise<Res<'models.catalog'>> {
    return { models: await this.models.list(), modelsDir: this.models.modelsDir };
  }

  async preview(req: ParsedReq<'preview.render'>): Promise<Res<'preview.render'>> {
    // A film's or a stack's chosen frame is the base instead of the display copy.
    const chosen =
      req.atSec !== undefined
        ? await this.films.frame(req.assetId, req.atSec)
        : req.page !== undefined
          ? await this.films.stackFrame(req.assetId, req.page)
          : undefined;
    const frame = chosen && {
      path: chosen.path,
      tag: chosen.media.slice('preview/p-'.length, -'.jpg'.length),
    };
    const r = await this.previewer.render(
      req.assetId,
      await this.previewRecipe(req.assetId, req.recipe),
      req.maxEdge,
      {
        live: true,
        frame,
      },
    );
    return 'superseded' in r
      ? { media: null, width: 0, height: 0, ms: r.ms, superseded: true }
      : { ...r, superseded: false };
  }

  /**
   * The recipe a still preview runs: for a film or a stack with its models resolved as its render
   * resolves them (the film defaults), so the preview shows the colours the render will have.
   */
  private async previewRecipe(
    assetId: number,
    given: ParsedReq<'preview.render'>['recipe'],
  ): Promise<Recipe> {
    const recipe = canonicalRecipe(given);
    const filmOptions = this.opts.video?.filmOptions?.bind(this.opts.video);
    if (!filmOptions || this.store.assetRow(assetId).kind === 'photo') return recipe;
    // A model that cannot be resolved: the preview itself says so, in its words.
    const options = await filmOptions(recipe.ops, recipe.options).catch(() => recipe.options);
    return options.models ? { ...recipe, options: { ...recipe.options, models: options.models } } : recipe;
  }

  async previewClip(req: ParsedReq<'preview.clip'>): Promise<Res<'preview.clip'>> {
    const t0 = performance.now();
    const r = await this.films.clip(
      req.assetId,
      canonicalRecipe(req.recipe),
      req.startSec,
      req.durationSec,
      req.maxEdge,
    );
    const ms = performance.now() - t0;
    return r.superseded
      ? { media: null, width: 0, height: 0, frames: 0, ms, superseded: true }
      : { ...r, ms };
  }

  async sweep(req: ParsedReq<'preview.sweep'>): Promise<Res<'preview.sweep'>> {
    if (!req.recipe.ops.includes('colorize'))
      throw new Error('a sweep compares colorize render sizes: turn colorize on');
    const items = [];
    // One after another: the engine pool is shared with the queue, a burst would stall running jobs.
    for (const renderSize of req.sizes) {
      const recipe = await this.previewRecipe(req.assetId, {
        ...req.recipe,
        options: { ...req.recipe.options, renderSize },
      });
      const r = await this.previewer.render(req.assetId, recipe, req.maxEdge);
      if ('superseded' in r) throw new Error('internal: a sweep preview was superseded');
      items.push({ renderSize, media: r.media, ms: r.ms });
    }
    return { items };
  }

  async startBatch(
    req: Omit<ParsedReq<'batch.start'>, 'colourInputs'> &
      Partial<Pick<ParsedReq<'batch.start'>, 'colourInputs'>>,
  ): Promise<Res<'batch.start'>> {
    const recipe = canonicalRecipe(req.recipe);
    const hash = recipeHash(recipe);
    let assetIds: number[];
    let projectId: number | null = null;
    let report: Res<'batch.start'>['import'] = null;
    const t = req.target;
    if (t.kind === 'assets') {
      const found = new Set(this.store.listAssets({ ids: t.ids }).map((a) => a.id));
      const missing = t.ids.filter((id) => !found.has(id));
      if (missing.length) throw new NotFoundError(`no asset with id ${missing.slice(0, 5).join(', ')}`);
      assetIds = [...new Set(t.ids)];
      const projects = new Set(this.store.listAssets({ ids: assetIds }).map((a) => a.projectId));
      projectId = projects.size === 1 ? [...projects][0] : null;
    } else if (t.kind === 'project') {
      this.store.projectRow(t.projectId);
      projectId = t.projectId;
      assetIds = this.store.listAssets({ projectId }).map((a) => a.id);
    } else {
      projectId = t.projectId;
      const imported = await importPaths(
        { store: this.store, layout: this.layout, log: this.log },
        t.projectId,
        [t.path],
      );
      const { assetIds: ids, ...rest } = imported;
      report = rest;
      assetIds = ids;
      this.emit({ type: 'library', projectId });
    }

    const skippedColour = await this.colourInputsOf(assetIds, recipe, req.colourInputs ?? 'skip');
    const colourIds = new Set(skippedColour.map((s) => s.assetId));
    const pending = this.jobs.pendingAssets(hash);
    const toRun = assetIds.filter((id) => {
      if (pending.has(id) || colourIds.has(id)) return false;
      if (!req.skipDone) return true;
      const done = this.store.doneRender(id, hash);
      return !(done?.output_path && existsSync(this.layout.abs(done.output_path)));
    });
    const skipped = assetIds.length - toRun.length;
    if (toRun.length === 0) return { batch: null, queued: 0, skipped, skippedColour, import: report };

    const name =
      req.name?.trim() || `${recipe.ops.join(' + ')} · ${toRun.length} file${toRun.length === 1 ? '' : 's'}`;
    const batchId = this.db.transaction(() => {
      const id = this.jobs.createBatch(name, projectId, recipe);
      this.jobs.enqueue(id, toRun, recipe);
      return id;
    })();
    this.log.info(
      `batch ${batchId} "${name}": ${toRun.length} queued, ${skipped} skipped (${skippedColour.length} already in colour)`,
    );
    const batch = this.jobs.batch(batchId)!;
    this.emit({ type: 'batch', batch });
    this.emit({ type: 'library', projectId });
    this.runner.pump();
    return { batch, queued: toRun.length, skipped, skippedColour, import: report };
  }

  /** Inputs a colorizing recipe leaves out because they already have colour (measured now if never measured). */
  private async colourInputsOf(
    assetIds: number[],
    recipe: Recipe,
    mode: 'skip' | 'colorize',
  ): Promise<Res<'batch.start'>['skippedColour']> {
    if (mode === 'colorize' || !addsColour(recipe.ops)) return [];
    const rows = assetIds.map((id) => this.store.assetRow(id));
    await ensureColour(this.store, this.layout, rows, this.log);
    return this.store
      .listAssets({ ids: assetIds })
      .filter((a) => a.colour?.colour)
      .map((a) => ({ assetId: a.id, name: a.name, reason: a.colour!.reason }));
  }

  /** The asset's colour verdict, measured now when it never was (an asset imported by an older Tintype). */
  async measureAsset(id: number): Promise<void> {
    await ensureColour(this.store, this.layout, [this.store.assetRow(id)], this.log);
  }

  listJobs(req: ParsedReq<'jobs.list'>): Res<'jobs.list'> {
    return { jobs: this.jobs.listJobs(req, this.runner.live), batches: this.jobs.listBatches() };
  }

  cancelJobs(req: ParsedReq<'jobs.cancel'>): Res<'jobs.cancel'> {
    if (!req.jobIds && req.batchId === undefined)
      throw new Error('name the jobs (jobIds) or the batch (batchId) to cancel');
    const { canceled, flagged } = this.jobs.cancel(req);
    this.runner.abort(flagged.map((j) => j.id));
    for (const j of canceled) {
      const job = this.jobs.jobView(j.id, this.runner.live);
      if (job) this.emit({ type: 'job', job });
    }
    this.runner.settleBatches([...canceled, ...flagged].map((j) => j.batch_id));
    return { canceled: canceled.length + flagged.length };
  }

  retryJobs(req: ParsedReq<'jobs.retry'>): Res<'jobs.retry'> {
    if (!req.jobIds && req.batchId === undefined)
      throw new Error('name the jobs (jobIds) or the batch (batchId) to retry');
    const rows = this.jobs.retry(req);
    for (const b of new Set(rows.map((j) => j.batch_id))) {
      const batch = this.jobs.batch(b);
      if (batch) this.emit({ type: 'batch', batch });
    }
    this.runner.pump();
    return { requeued: rows.length };
  }

  clearFinished(): Res<'jobs.clearFinished'> {
    const removed = this.jobs.clearFinished();
    this.emit({ type: 'library', projectId: null });
    return { removed };
  }

  defaultOutputFolder(): string {
    return this.settings.read().outputFolder || join(homedir(), 'Pictures', 'Tintype');
  }

  async exportRenders(req: ParsedReq<'export.run'>): Promise<Res<'export.run'>> {
    const s = this.settings.read();
    return exportRenders(
      { store: this.store, layout: this.layout, video: this.opts.video ?? null },
      {
        renderIds: req.renderIds,
        folder: req.folder ?? this.defaultOutputFolder(),
        format: req.format ?? s.outputFormat,
        quality: req.quality ?? s.jpegQuality,
        overwrite: req.overwrite,
      },
    );
  }

  resolveMedia(key: string): MediaFile | null {
    return resolveMedia(this.store, this.layout, key);
  }
}
