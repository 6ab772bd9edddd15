import {
  defaultFor,
  effectiveDefaults,
  setDefaultModel,
  importModel,
  errorMessage,
  installModel,
  isCatalogError,
  listModels,
  MODEL_FILE,
  probeOnnx,
  remoteSize,
  removeModel,
  type InstallOptions,
  type StoreOptions,
  modelsDirOf,
  type Logger,
} from '../engine/index';
import type { ImportProbeResult, ManifestDraft, ModelProgress, ModelRow } from '../shared/api';
import type { ApiEvent } from '../shared/bridge';
import type { Catalog, DownloadProgress, ModelListing } from '../shared/catalog';
import { scalesOf } from '../shared/manifest';
import { aTask, OP_INFO, TASK_INFO, type Task } from '../shared/ops';

type SizeFrom = ModelRow['sizeFrom'];
interface SizeLookup {
  bytes: number | null;
  from: SizeFrom;
  at: number;
}

const progressOf = (p: DownloadProgress): ModelProgress => ({
  phase: p.phase,
  receivedBytes: p.receivedBytes,
  totalBytes: p.totalBytes,
  bytesPerSecond: p.bytesPerSecond,
  etaSeconds: p.etaSeconds,
});

/**
 * The Models page over the engine's model manager (src/engine/catalog): installs run in the
 * background, one per model, and report through events; an interrupted download resumes next time.
 */
export class ModelManager {
  private readonly running = new Map<string, { abort: AbortController; progress: ModelProgress | null }>();
  /** Download sizes the servers announced for entries the catalog gives none (see `sizeOf`). */
  private readonly sizes = new Map<string, SizeLookup>();
  private readonly closing = new AbortController();

  constructor(
    private readonly opts: {
      store?: StoreOptions;
      catalog?: Catalog;
      emit: (e: ApiEvent) => void;
      log: Logger;
      /** Transport knobs for tests (progress interval, retries); the engine's defaults otherwise. */
      tuning?: Pick<InstallOptions, 'fetch' | 'progressIntervalMs' | 'retryDelayMs'>;
      /** How long an "offline" size answer stands before the servers are asked again. */
      sizeRetryMs?: number;
    },
  ) {}

  get modelsDir(): string {
    return modelsDirOf(this.opts.store ?? {});
  }

  async list(): Promise<ModelRow[]> {
    const rows = await listModels({ ...this.opts.store, catalog: this.opts.catalog });
    const defaults = await effectiveDefaults(this.opts.store);
    return rows.map((r) => {
      const run = this.running.get(r.id);
      const size = this.sizeOf(r);
      const scales = r.installed ? scalesOf(r.installed.manifest) : [];
      const defaultScales = TASK_INFO[r.task].enlarges
        ? scales.filter((s) => defaultFor(defaults, r.task, s) === r.id)
        : [];
      return {
        id: r.id,
        name: r.name,
        task: r.task,
        version: r.installed?.manifest.version ?? r.entry?.version ?? '1.0.0',
        license: r.license,
        source: r.source,
        // A model's one plain line is what people choose by; the technical description is for its details.
        description: plainLine(r),
        details: r.installed?.manifest.description ?? r.entry?.description ?? null,
        publisher: r.entry?.publisher ?? null,
        recommended: r.entry?.recommended ?? false,
        scales,
        defaultScales,
        isDefault:
          r.installed !== null &&
          (TASK_INFO[r.task].enlarges ? defaultScales.length > 0 : defaultFor(defaults, r.task) === r.id),
        isFilmDefault:
          r.installed !== null &&
          (TASK_INFO[r.task].enlarges ? scales : [undefined]).some(
            (s) => defaultFor(defaults, r.task, s, true) === r.id,
          ),
        origin: r.installed?.origin ?? null,
        installed: r.installed !== null,
        removable: r.installed?.removable ?? false,
        sizeOnDisk: r.installed?.sizeOnDisk ?? null,
        downloadBytes: size.bytes,
        sizeFrom: size.from,
        partialBytes: r.partialBytes,
        installing: run !== undefined,
        progress: run?.progress ?? null,
      };
    });
  }

  install(id: string): { started: boolean } {
    if (this.running.has(id)) return { started: false };
    const abort = new AbortController();
    const state = { abort, progress: null as ModelProgress | null };
    this.running.set(id, state);
    this.opts.emit({ type: 'model', id, state: 'installing', progress: null, error: null });
    // Every phase change is shown at once; within the download a few updates a second, the last
    // one always (a stalled download must show where it stopped).
    let last = 0;
    let lastPhase = '';
    let trailing: NodeJS.Timeout | null = null;
    const send = () => {
      trailing = null;
      last = Date.now();
      if (this.running.get(id) === state)
        this.opts.emit({ type: 'model', id, state: 'installing', progress: state.progress, error: null });
    };
    installModel(id, {
      ...this.opts.store,
      catalog: this.opts.catalog,
      ...this.opts.tuning,
      signal: abort.signal,
      onProgress: (p) => {
        state.progress = progressOf(p);
        if (p.phase !== lastPhase || Date.now() - last > 200) {
          lastPhase = p.phase;
          if (trailing) clearTimeout(trailing);
          send();
        } else trailing ??= setTimeout(send, 200 - (Date.now() - last));
      },
    }).then(
      () => {
        if (trailing) clearTimeout(trailing);
        this.running.delete(id);
        this.opts.log.info(`model ${id} installed`);
        this.opts.emit({ type: 'model', id, state: 'installed', progress: null, error: null });
      },
      (err: unknown) => {
        if (trailing) clearTimeout(trailing);
        this.running.delete(id);
        const canceled = abort.signal.aborted || isCatalogError(err, 'CANCELLED');
        const message = installProblem(err);
        this.opts.log.warn(`model ${id}: ${canceled ? 'download canceled' : message}`);
        this.opts.emit({
          type: 'model',
          id,
          state: canceled ? 'canceled' : 'failed',
          progress: null,
          error: canceled ? null : message,
        });
      },
    );
    return { started: true };
  }

  /** The import wizard's first step: what the file declares and a proposed manifest (only reads the file). */
  async probe(file: string): Promise<ImportProbeResult> {
    const p = await probeOnnx(file);
    return { ...p, proposal: p.proposal as ManifestDraft | null };
  }

  /**
   * The wizard's last step: the engine checks the manifest against the file (shapes and a test run)
   * before copying it in; the Models page and the model pickers refresh on the 'model' event.
   */
  async importFile(file: string, manifest: ManifestDraft): Promise<ModelRow> {
    if (this.running.has(manifest.id)) {
      throw new Error(`${manifest.id} is being downloaded; choose another id`);
    }
    // The import names the copy and hashes it itself, whatever the draft says.
    const installed = await importModel(file, { ...manifest, file: MODEL_FILE, sha256: '' }, this.opts.store);
    this.opts.log.info(`model ${installed.id} imported from ${file}`);
    this.opts.emit({ type: 'model', id: installed.id, state: 'installed', progress: null, error: null });
    const row = (await this.list()).find((r) => r.id === installed.id);
    if (!row) throw new Error(`${installed.id} was imported into ${installed.dir} but is not listed`);
    return row;
  }

  /**
   * The model the engine uses for `task` when a recipe names none (upscale: per scale; default: every
   * scale it offers); `film`: for films only. Null clears the user's choice, back to the bundled default.
   */
  async setDefault(task: Task, id: string | null, scale?: number, film = false): Promise<void> {
    const what = `default ${task} model${film ? ' for films' : ''}`;
    if (id === null) {
      const was = defaultFor(await effectiveDefaults(this.opts.store), task, scale, film);
      await setDefaultModel(task, null, { ...this.opts.store, scale, film });
      this.opts.log.info(`${what}: back to the bundled one`);
      if (was) this.opts.emit({ type: 'model', id: was, state: 'installed', progress: null, error: null });
      return;
    }
    const row = (await listModels({ ...this.opts.store, catalog: this.opts.catalog })).find(
      (r) => r.id === id && r.installed,
    );
    if (!row?.installed) throw new Error(`${id} is not installed: install it first`);
    if (row.task !== task)
      throw new Error(`${row.name} is ${aTask(row.task)} model, not ${aTask(task)} model`);
    const scales = TASK_INFO[task].enlarges
      ? scale
        ? [scale]
        : scalesOf(row.installed.manifest)
      : [undefined];
    for (const s of scales) await setDefaultModel(task, id, { ...this.opts.store, scale: s, film });
    this.opts.log.info(`${what}: ${id}${TASK_INFO[task].enlarges ? ` (×${scales.join(', ×')})` : ''}`);
    this.opts.emit({ type: 'model', id, state: 'installed', progress: null, error: null });
  }

  cancel(id: string): boolean {
    const run = this.running.get(id);
    run?.abort.abort();
    return run !== undefined;
  }

  async remove(id: string): Promise<void> {
    await removeModel(id, this.opts.store);
    this.opts.emit({ type: 'model', id, state: 'removed', progress: null, error: null });
  }

  /**
   * The download size of a row: the catalog's when it lists one; otherwise what the server says
   * (one HEAD request per entry, in the background: the page is never held up by the network, and
   * it refreshes on the 'sized' event). Offline the answer is asked again after `sizeRetryMs`.
   */
  private sizeOf(r: ModelListing): { bytes: number | null; from: SizeFrom } {
    if (r.downloadBytes !== null) return { bytes: r.downloadBytes, from: 'catalog' };
    if (!r.entry || r.installed) return { bytes: null, from: 'unlisted' };
    const known = this.sizes.get(r.id);
    const stale = known?.from === 'offline' && Date.now() - known.at > (this.opts.sizeRetryMs ?? 60_000);
    if (known && !stale) return { bytes: known.bytes, from: known.from };
    const { id } = r;
    const asking: SizeLookup = { bytes: null, from: 'checking', at: Date.now() };
    this.sizes.set(id, asking);
    const done = (bytes: number | null, from: SizeFrom) => {
      if (this.sizes.get(id) !== asking || this.closing.signal.aborted) return;
      this.sizes.set(id, { bytes, from, at: Date.now() });
      this.opts.emit({ type: 'model', id, state: 'sized', progress: null, error: null });
    };
    remoteSize(
      r.entry.sources.map((s) => s.url),
      { fetch: this.opts.tuning?.fetch, signal: this.closing.signal },
    ).then(
      (bytes) => done(bytes, bytes === null ? 'unlisted' : 'server'),
      (err: unknown) => {
        if (isCatalogError(err, 'OFFLINE')) done(null, 'offline');
        else if (!this.closing.signal.aborted) {
          this.opts.log.warn(`model ${id}: could not ask for its download size: ${errorMessage(err)}`);
          done(null, 'unlisted');
        }
      },
    );
    return { bytes: null, from: 'checking' };
  }

  /** Stops downloads (they resume from the partial file next time) and size look-ups. */
  close(): void {
    this.closing.abort();
    for (const r of this.running.values()) r.abort.abort();
  }
}

/**
 * The one line a model is shown with: the catalog's first sentence, the manifest's summary, or what
 * its task does. Never the manifest's description, which names layers and parameter counts.
 */
function plainLine(r: ModelListing): string {
  const first = r.entry?.description?.match(/^.*?[.!?](?=\s|$)/)?.[0] ?? r.entry?.description;
  if (first) return first;
  if (r.installed?.manifest.summary) return r.installed.manifest.summary;
  const op = Object.values(OP_INFO).find((o) => o.task === r.task);
  const what = op ? `${op.hint[0].toUpperCase()}${op.hint.slice(1)}` : TASK_INFO[r.task].label;
  return r.installed?.origin === 'bundled' ? `${what}; built in, works offline` : what;
}

/**
 * Why an install failed, in words and without raw URLs: offline says so and that the built-in
 * models keep working; other failures keep their reason with any address shortened to its host.
 */
export function installProblem(err: unknown): string {
  if (isCatalogError(err, 'OFFLINE'))
    return 'No internet connection (or the download server cannot be reached). The built-in models keep working; install this one when you are online, or import an .onnx file you already have.';
  return errorMessage(err).replace(/https?:\/\/([^/\s]+)\S*/g, (_m, host: string) => host);
}
