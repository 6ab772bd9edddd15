import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { errorMessage, type FileResult, type ProgressEvent, type Logger } from '../engine/index';
import type { ApiEvent } from '../shared/bridge';
import type { RenderEngine, VideoRenderer } from './engine';
import type { JobRow, JobStore, LiveProgress } from './jobs-store';
import { StepEta } from './eta';
import type { LibraryLayout } from './layout';
import { makeRenderView, makeVideoRenderView } from './probe';
import { recipeFromRow, type AssetRow, type Store } from './store';

export interface RunnerDeps {
  store: Store;
  jobs: JobStore;
  layout: LibraryLayout;
  engine: () => Promise<RenderEngine>;
  video: VideoRenderer | null;
  emit: (e: ApiEvent) => void;
  log: Logger;
  concurrency: () => number;
  /** id → version of installed models, to record exactly which model made a render. */
  modelVersions?: () => Promise<Map<string, string>>;
}

/** How often a running job's progress is pushed to the UI. */
const PROGRESS_EVERY_MS = 150;

/** Names the file in a message that does not already (every error the user sees says which file). */
function aboutFile(path: string, message: string): string {
  return message.includes(path) || message.includes(basename(path)) ? message : `${path}: ${message}`;
}

/**
 * Runs queued jobs through the engine, a few at a time. All state changes go to SQLite before they are
 * announced, and a render row is written only after its file is complete, so killing the process at any
 * moment leaves finished renders intact and the unfinished job queued for the next start.
 */
export class JobRunner {
  readonly live = new Map<number, LiveProgress>();
  /** Renders that can be stopped midway (films and stacks). */
  private readonly aborts = new Map<number, AbortController>();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private stopped = false;

  constructor(private readonly d: RunnerDeps) {}

  start(): number {
    const recovered = this.d.jobs.recoverInterrupted();
    if (recovered > 0) this.d.log.info(`queue: resuming ${recovered} job(s) interrupted by the last exit`);
    this.running = true;
    this.pump();
    return recovered;
  }

  /** Stops taking jobs; in-flight ones are abandoned to the next start (their rows stay 'running'). */
  stop(): void {
    this.stopped = true;
    this.running = false;
    // The video pipeline keeps finished segments: the job resumes from them at the next start.
    for (const a of this.aborts.values()) a.abort();
  }

  /** Stops running renders at their next tile, frame or step; the runner then discards them. */
  abort(jobIds: number[]): void {
    for (const id of jobIds) {
      this.aborts.get(id)?.abort();
      this.announce(id);
    }
  }

  /** Resolves when the jobs now running have settled. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  pump(): void {
    if (!this.running || this.stopped) return;
    while (this.inFlight.size < this.d.concurrency()) {
      const job = this.d.jobs.claimNext();
      if (!job) return;
      this.live.set(job.id, { fraction: 0, stage: 'starting', startedAt: Date.now() });
      this.announce(job.id);
      const p = this.run(job)
        .catch((err) => this.d.log.warn(`queue: job ${job.id} crashed the runner: ${errorMessage(err)}`))
        .finally(() => {
          this.inFlight.delete(p);
          this.live.delete(job.id);
          this.pump();
        });
      this.inFlight.add(p);
    }
  }

  private announce(jobId: number): void {
    const job = this.d.jobs.jobView(jobId, this.live);
    if (job) this.d.emit({ type: 'job', job });
  }

  private announceBatch(batchId: number): void {
    const batch = this.d.jobs.batch(batchId);
    if (!batch) return;
    this.d.emit({ type: 'batch', batch });
    if (this.d.jobs.closeBatchIfDone(batchId)) {
      const done = this.d.jobs.batch(batchId)!;
      this.d.log.info(
        `queue: batch ${batchId} "${done.name}" finished: ${done.done} done, ${done.failed} failed, ${done.canceled} canceled`,
      );
      this.d.emit({ type: 'batch-done', batch: done });
    }
  }

  /** After a cancel: batches whose last jobs were just canceled are finished too. */
  settleBatches(batchIds: Iterable<number>): void {
    for (const id of new Set(batchIds)) this.announceBatch(id);
  }

  private async withVersions(ids: string[]): Promise<string[]> {
    if (!this.d.modelVersions || ids.length === 0) return ids;
    const versions = await this.d.modelVersions().catch(() => new Map<string, string>());
    return ids.map((id) => (versions.has(id) ? `${id}@${versions.get(id)}` : id));
  }

  private async run(job: JobRow): Promise<void> {
    const { store, layout } = this.d;
    let asset: AssetRow;
    try {
      asset = store.assetRow(job.asset_id);
    } catch {
      this.d.jobs.finish(job.id, 'failed', { error: `asset ${job.asset_id} no longer exists` });
      return;
    }
    const recipe = recipeFromRow(job);
    const input = layout.abs(asset.path);
    const media = asset.kind === 'photo' ? null : asset.kind;
    const stem =
      basename(asset.name, extname(asset.name))
        .replace(/[^\w.-]+/g, '_')
        .slice(0, 80) || 'asset';
    const ext = media === 'video' ? 'mkv' : media === 'stack' ? 'tif' : 'png';
    const outRel = layout.projectFile(asset.project_id, 'renders', `${stem}-j${job.id}.${ext}`);
    const output = layout.abs(outRel);
    const started = Date.now();
    let lastEmit = 0;
    const eta = new StepEta();
    const onProgress = (e: ProgressEvent & { fps?: number }) => {
      const live = this.live.get(job.id);
      if (!live) return;
      live.fraction = Math.min(1, Math.max(0, e.fraction));
      live.stage = e.fps ? `${e.stage} · ${e.fps.toFixed(1)} fps` : e.stage;
      // A film reports one long step whose stage text changes (segments, fps): its key is "video".
      const stepKey = media ? 'video' : e.step !== undefined ? `step ${e.step}` : e.stage;
      live.etaSec = eta.update(live.fraction, stepKey, Date.now());
      const now = Date.now();
      if (now - lastEmit >= PROGRESS_EVERY_MS) {
        lastEmit = now;
        this.announce(job.id);
      }
    };

    let result: FileResult;
    const abort = new AbortController();
    this.aborts.set(job.id, abort);
    try {
      await mkdir(dirname(output), { recursive: true });
      const engine = await this.d.engine();
      if (media) {
        if (!this.d.video)
          throw new Error(
            `${input}: rendering ${media === 'video' ? 'films' : 'stacks'} needs the video pipeline, which this build does not include`,
          );
        result = await this.d.video.processVideo(
          { input, output, kind: media, ops: recipe.ops, options: recipe.options, signal: abort.signal },
          engine,
          onProgress,
        );
      } else {
        result = await engine.processFile(
          {
            input,
            output,
            ops: recipe.ops,
            options: recipe.options,
            watermark: recipe.watermark,
            format: 'png',
            overwrite: true,
            keep16bit: true,
          },
          onProgress,
          abort.signal,
        );
      }
    } catch (err) {
      result = { input, output, ok: false, error: errorMessage(err), ops: recipe.ops, models: [] };
    } finally {
      this.aborts.delete(job.id);
    }
    // Shutting down: leave the row 'running' so the next start redoes this job from scratch.
    if (this.stopped) return;

    const now = this.d.jobs.job(job.id);
    if (!now || now.cancel_requested === 1) {
      await rm(output, { force: true });
      if (now) this.d.jobs.finish(job.id, 'canceled');
      this.announce(job.id);
      this.announceBatch(job.batch_id);
      return;
    }

    const base = {
      asset_id: asset.id,
      job_id: job.id,
      ops: JSON.stringify(recipe.ops),
      options: JSON.stringify(recipe.options),
      watermark: recipe.watermark ? 1 : 0,
      recipe_hash: job.recipe_hash,
      models: JSON.stringify(await this.withVersions(result.models ?? [])),
      ms: result.ms ?? Date.now() - started,
      inference_ms: result.inferenceMs ?? null,
    };
    if (this.stopped) return;
    if (result.ok) {
      let viewRel: string | null = layout.projectFile(asset.project_id, 'views', `render-j${job.id}.jpg`);
      let dims = { width: result.width ?? null, height: result.height ?? null } as {
        width: number | null;
        height: number | null;
      };
      try {
        if (media === 'video') await makeVideoRenderView(output, layout.abs(viewRel));
        else dims = await makeRenderView(output, layout.abs(viewRel), { stretch: (asset.depth ?? 8) > 8 });
      } catch (err) {
        this.d.log.warn(`queue: no display copy for ${output}: ${errorMessage(err)}`);
        viewRel = null;
      }
      if (this.stopped) return;
      store.db.transaction(() => {
        const renderId = store.insertRender({
          ...base,
          output_path: outRel,
          status: 'done',
          error: null,
          width: dims.width,
          height: dims.height,
          view_path: viewRel,
        });
        this.d.jobs.finish(job.id, 'done', { renderId });
      })();
    } else {
      const error = aboutFile(input, result.error ?? 'the engine failed without a message');
      await rm(output, { force: true });
      store.db.transaction(() => {
        const renderId = store.insertRender({
          ...base,
          output_path: null,
          status: 'failed',
          error,
          width: null,
          height: null,
          view_path: null,
        });
        this.d.jobs.finish(job.id, 'failed', { error, renderId });
      })();
      this.d.log.warn(`queue: job ${job.id} failed: ${error}`);
    }
    this.live.delete(job.id);
    this.announce(job.id);
    this.announceBatch(job.batch_id);
    this.d.emit({ type: 'library', projectId: asset.project_id });
  }
}
