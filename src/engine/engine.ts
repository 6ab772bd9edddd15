import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { addsColour, operationsTakingMask, TASK_INFO, type Task } from '../shared/ops';
import { errorMessage, fileError, throwIfCancelled, TintypeError } from './errors';
import { mergeMayOverwrite, mergeOutputDone, resizeChannelBilinear } from './image/color';
import { detectColour, detectColourFromPreview, type ColourVerdict } from './image/colour-input';
import { formatFromPath, readImage, readShrunk, writeImage } from './image/io';
import { resizeRaster } from './image/resize';
import type { Logger } from './log';
import { silentLogger } from './log';
import type { InferStats } from './model/infer';
import { SessionCache, type LoadedModel } from './model/session';
import { ModelRegistry } from './models/registry';
import { colorizeLuma, predictFromSmall, type Prediction } from './ops/colorize';
import { opCost } from './ops/cost';
import { checkOptions } from './ops/options';
import { operation, orderedOps } from './ops/registry';
import { effectiveRenderSize } from './ops/render-size';
import { readMask, writeMask, type Mask } from './repair/mask';
import type {
  ChromaPlanes,
  ExecutionProviderChoice,
  FileJob,
  FileResult,
  LumaFrame,
  OpName,
  OpOptions,
  ProgressEvent,
  Raster,
} from './types';

export interface EngineOptions {
  ep?: ExecutionProviderChoice;
  /** ONNX Runtime intra-op threads for each inference. */
  threads?: number;
  /** Folders holding <id>/manifest.json; default: bundled models, then the user's models folder. */
  modelDirs?: string[];
  log?: Logger;
}

/** The user's mask for an op that takes one, and where the mask an op worked with is reported. */
export interface RunMasks {
  mask?: Mask;
  onMask?: (mask: Mask) => void;
  /** Identifies the picture as read (its file, as it is now), so what ops find in it can be reused. */
  source?: string;
}

export interface RasterResult {
  raster: Raster;
  models: string[];
  inferenceMs: number;
  stats: InferStats;
}

/**
 * Runs operations on images in the calling thread. The app and the CLI use it through EnginePool's
 * worker threads; tests and scripts may use it directly.
 */
export class Engine {
  readonly registry: ModelRegistry;
  readonly sessions: SessionCache;
  private readonly log: Logger;
  /**
   * The model's colour per (file as it is now, model, render size): re-rendering a photo with other
   * colour hints or saturation skips the model and costs only the merge. A few hundred kB each.
   */
  private readonly predictions = new Map<string, Promise<Prediction | undefined>>();
  /** processFile calls under way in this engine. */
  private filesInFlight = 0;
  private static readonly KEEP_PREDICTIONS = 24;

  constructor(opts: EngineOptions = {}) {
    this.log = opts.log ?? silentLogger;
    this.registry = new ModelRegistry({ dirs: opts.modelDirs, log: this.log });
    this.sessions = new SessionCache({ ep: opts.ep, intraOpThreads: opts.threads, log: this.log });
  }

  /**
   * The loaded model an op runs (none for an op without a model task, nor for one that takes a mask
   * when the user gave one: it stands in for the model).
   */
  async model(op: OpName, options: OpOptions, masked = false): Promise<LoadedModel | undefined> {
    const { task, takesMask } = operation(op);
    if (!task || (masked && takesMask)) return undefined;
    let manifest;
    try {
      manifest = await this.registry.resolve(task, { id: options.models?.[op], scale: options.scale });
    } catch (err) {
      // Strokes the user painted are a mask too: without a model the op works from them alone.
      const painted = takesMask && (options.maskEdits?.length ?? 0) > 0 && !options.models?.[op];
      if (painted && err instanceof TintypeError && err.code === 'MODEL_NOT_FOUND') return undefined;
      throw err;
    }
    return this.sessions.get(manifest);
  }

  /** What ops worked out from a file as read (detected masks), by file identity and key; a few kept. */
  private readonly memos = new Map<string, Promise<unknown>>();
  private static readonly KEEP_MEMOS = 8;

  private memo<T>(key: string, make: () => Promise<T>): Promise<T> {
    const hit = this.memos.get(key) as Promise<T> | undefined;
    if (hit) {
      this.memos.delete(key);
      this.memos.set(key, hit);
      return hit;
    }
    const p = make();
    this.memos.set(key, p);
    p.catch(() => this.memos.delete(key));
    while (this.memos.size > Engine.KEEP_MEMOS) this.memos.delete(this.memos.keys().next().value!);
    return p;
  }

  /**
   * `neighbours` are the previous and next frames of a film or stack, for models that take three
   * consecutive frames; they reach the first operation only (later ones see processed frames).
   * Progress is weighted by each operation's estimated cost (see opCost), so a recipe whose ×4
   * upscale dominates does not read 67 % done when two thirds of the time is still ahead. `signal`
   * stops the work between tiles and operations with a CANCELLED error.
   */
  async run(
    raster: Raster,
    ops: readonly OpName[],
    options: OpOptions = {},
    onProgress?: (e: ProgressEvent) => void,
    neighbours?: [Raster, Raster],
    predicted?: Prediction,
    signal?: AbortSignal,
    masks: RunMasks = {},
  ): Promise<RasterResult> {
    const order = orderedOps(ops);
    checkOptions(order, options);
    const stats: InferStats = { ms: 0 };
    const loaded: (LoadedModel | undefined)[] = [];
    for (const op of order) loaded.push(await this.model(op, options, masks.mask !== undefined));
    const models: string[] = [];
    const loadModel = async (task: Task) => {
      const m = await this.sessions.get(await this.registry.resolve(task, { id: options.models?.[task] }));
      models.push(m.manifest.id);
      return m;
    };
    // Costs need each step's input size: upscaling happens last in the pipeline order, so every
    // earlier step sees the original size.
    // An op without a model costs next to nothing beside one that has.
    const costs = loaded.map((m) => (m ? opCost(m, raster, options.renderSize) : 1));
    const totalCost = costs.reduce((a, b) => a + b, 0) || 1;
    let current = raster;
    let base = 0;
    for (let i = 0; i < order.length; i++) {
      throwIfCancelled(signal);
      const op = order[i];
      const model = loaded[i];
      if (model) models.push(model.manifest.id);
      const span = costs[i] / totalCost;
      const step = { step: i + 1, steps: order.length };
      onProgress?.({ fraction: base, stage: op, ...step });
      const at = base;
      current = await operation(op).run(current, {
        model,
        options,
        stats,
        onProgress: (f) => onProgress?.({ fraction: at + span * f, stage: op, ...step }),
        // Only the first op sees the real neighbours and the photo as read: later ones get processed pixels.
        neighbours: i === 0 ? neighbours : undefined,
        predicted: i === 0 ? predicted : undefined,
        signal,
        // The mask is drawn on the picture as read: only the first op (repair runs first) sees it.
        mask: i === 0 ? masks.mask : undefined,
        onMask: masks.onMask,
        loadModel,
        memo: i === 0 && masks.source ? (key, make) => this.memo(`${masks.source}|${key}`, make) : undefined,
      });
      base += span;
    }
    throwIfCancelled(signal);
    onProgress?.({ fraction: 1, stage: 'done' });
    return { raster: current, models, inferenceMs: stats.ms, stats };
  }

  async processRaster(raster: Raster, ops: readonly OpName[], options: OpOptions = {}): Promise<Raster> {
    return (await this.run(raster, ops, options)).raster;
  }

  /**
   * Colorizes a YUV film frame given by its luma plane (the film fast path): returns its new U,V
   * planes; the luma stays the caller's, untouched.
   */
  async colorizeLuma(frame: LumaFrame, options: OpOptions = {}): Promise<ChromaPlanes> {
    checkOptions(['colorize'], options);
    const model = (await this.model('colorize', options))!;
    return colorizeLuma(frame, model, { renderSize: options.renderSize, saturation: options.saturation });
  }

  /** One frame of a sequence with its neighbours: [t-1, t, t+1] (repeat the edge frame at the ends). */
  async processWindow(
    frames: [Raster, Raster, Raster],
    ops: readonly OpName[],
    options: OpOptions = {},
  ): Promise<Raster> {
    return (await this.run(frames[1], ops, options, undefined, [frames[0], frames[2]])).raster;
  }

  /** How many consecutive frames the chain's first operation wants (1, or 3 for multi-frame models). */
  async framesWanted(ops: readonly OpName[], options: OpOptions = {}): Promise<1 | 3> {
    const first = orderedOps(ops)[0];
    const task = operation(first).task;
    if (!task) return 1;
    const m = await this.registry.resolve(task, { id: options.models?.[first], scale: options.scale });
    return m.input.frames;
  }

  private cachedPrediction(
    key: string,
    make: () => Promise<Prediction | undefined>,
  ): Promise<Prediction | undefined> {
    const hit = this.predictions.get(key);
    if (hit) {
      // Most recently used last, so the oldest is first to go.
      this.predictions.delete(key);
      this.predictions.set(key, hit);
      return hit;
    }
    const p = make();
    this.predictions.set(key, p);
    p.then(
      (r) => r ?? this.predictions.delete(key),
      () => this.predictions.delete(key),
    );
    while (this.predictions.size > Engine.KEEP_PREDICTIONS)
      this.predictions.delete(this.predictions.keys().next().value!);
    return p;
  }

  /**
   * Whether a photo already has colour, from its render-size read when there is one (a JPEG's),
   * else from the file; undefined when it cannot be told (the decode then says why).
   */
  private async colourOf(
    path: string,
    shrunk?: Promise<{ small?: Raster }>,
  ): Promise<ColourVerdict | undefined> {
    const small = await shrunk?.then(
      (r) => r.small,
      () => undefined,
    );
    try {
      return await (small ? detectColourFromPreview(path, small) : detectColour(path));
    } catch {
      return undefined;
    }
  }

  /** Reads, processes and atomically writes one file; never throws, the result says what happened. */
  async processFile(
    job: FileJob,
    onProgress?: (e: ProgressEvent) => void,
    signal?: AbortSignal,
  ): Promise<FileResult> {
    const t0 = performance.now();
    const base: FileResult = { input: job.input, output: job.output, ok: false, ops: job.ops, models: [] };
    // Another photo already in flight here keeps the cores busy (a batch): then the model's small
    // input is made from the decoded photo (a resize of the raster, ~19 ms of CPU at 12 MP) rather
    // than read again from the file beside the decode (a shrink-on-load decode, ~40 ms), which
    // only pays when a core would otherwise wait.
    const busy = this.filesInFlight > 0;
    this.filesInFlight++;
    try {
      if (resolve(job.input) === resolve(job.output)) {
        throw fileError(
          job.output,
          'output would replace the original; choose another name or folder',
          'SAME_AS_INPUT',
        );
      }
      const format = job.format ?? formatFromPath(job.output);
      if (!format)
        throw fileError(job.output, 'cannot tell the output format from its extension', 'BAD_ARGUMENT');
      // Load the models while the image decodes: session creation and decoding both take a while.
      const order = orderedOps(job.ops);
      if (job.mask && !order.some((op) => operation(op).takesMask)) {
        throw fileError(
          job.mask,
          `a mask is for ${operationsTakingMask().join(' or ')}, which is not among ${order.join(', ')}`,
          'BAD_ARGUMENT',
        );
      }
      if (job.saveMask && !order.some((op) => operation(op).takesMask)) {
        throw fileError(
          job.saveMask,
          `only ${operationsTakingMask().join(' or ')} makes a mask to save, and it is not among ${order.join(', ')}`,
          'BAD_ARGUMENT',
        );
      }
      const warm = Promise.all(order.map((op) => this.model(op, job.options, job.mask !== undefined)));
      warm.catch(() => undefined);
      // A colorizer sees the photo at its small render size only: read that straight from the file
      // (shrink-on-load) and run the model on it while the full-size decode runs; only the merge
      // waits for the decoded photo. Any failure here falls back to the plain path, which reports it.
      const firstTask = operation(order[0]).task;
      const earlyStats: InferStats = { ms: 0 };
      const shrunk =
        firstTask && TASK_INFO[firstTask].runs === 'render-size'
          ? this.registry.resolve(firstTask, { id: job.options.models?.[order[0]] }).then(async (m) => {
              const size = effectiveRenderSize(m, job.options.renderSize);
              const st = await stat(job.input);
              const key = [resolve(job.input), st.mtimeMs, st.size, m.modelPath, m.sha256, size].join('|');
              const hit = this.predictions.get(key);
              return { key, size, hit, small: hit || busy ? undefined : await readShrunk(job.input, size) };
            })
          : undefined;
      shrunk?.catch(() => undefined);
      const early = shrunk
        ?.then(async ({ key, size, hit, small }) => {
          if (hit) return { key, size, prediction: await this.cachedPrediction(key, () => hit) };
          const model = small && (await this.model(order[0], job.options));
          if (!small || !model) return { key, size, prediction: undefined };
          const prediction = await this.cachedPrediction(key, () =>
            predictFromSmall(small, model, earlyStats),
          );
          return { key, size, prediction };
        })
        .catch(() => undefined);
      // A photo already in colour is left as it is when the job asks (colorize would replace its
      // colours), judged from the same small read as the model's input where there is one. The
      // full-size decode starts meanwhile: most photos given to colorize are not in colour.
      const checkColour = job.skipColour === true && addsColour(order);
      const alreadyColour = (verdict: ColourVerdict): FileResult => ({
        ...base,
        ok: true,
        skipped: true,
        alreadyColour: true,
        notes: [verdict.reason],
        ms: performance.now() - t0,
      });
      const colour = checkColour && !busy ? this.colourOf(job.input, shrunk) : undefined;
      const reading = readImage(job.input);
      reading.catch(() => undefined);
      const verdict = await colour;
      if (verdict?.colour) return alreadyColour(verdict);
      onProgress?.({ fraction: 0, stage: 'reading' });
      const image = await reading;
      // Busy: the small input made from the decoded photo, which also judges its colour.
      const fromRaster = busy
        ? await shrunk?.then(
            async ({ size, hit }) =>
              hit ? undefined : { size, small: await resizeRaster(image.raster, size, size, 'cubic') },
            () => undefined,
          )
        : undefined;
      if (checkColour && busy) {
        const late = await this.colourOf(job.input, fromRaster && Promise.resolve(fromRaster));
        if (late?.colour) return alreadyColour(late);
      }
      // The decoded samples are this call's own: after the merge (if an op merges them) only
      // their size is read, so the merge may write over them.
      mergeMayOverwrite(image.raster);
      const tRead = performance.now();
      throwIfCancelled(signal, job.input);
      onProgress?.({ fraction: 0, stage: 'loading models' });
      await warm;
      const mask = job.mask ? await readMask(job.mask, image.raster.width, image.raster.height) : undefined;
      const tModels = performance.now();
      // A photo with no shrink-on-load (PNG, TIFF…) gets its colour predicted from the decoded
      // picture, exactly as the colorize op would, and kept for the next render just the same.
      const seen = await early;
      const predicted =
        seen?.prediction ??
        (seen
          ? await this.cachedPrediction(seen.key, async () => {
              const model = await this.model(order[0], job.options);
              const small =
                fromRaster?.size === seen.size
                  ? fromRaster.small
                  : await resizeRaster(image.raster, seen.size, seen.size, 'cubic');
              return model && predictFromSmall(small, model, earlyStats);
            }).catch(() => undefined)
          : undefined);
      let used: Mask | undefined;
      const result = await this.run(
        image.raster,
        job.ops,
        job.options,
        onProgress,
        undefined,
        predicted,
        signal,
        {
          mask,
          onMask: (m) => (used = m),
          source: await stat(job.input).then(
            (st) => [resolve(job.input), st.mtimeMs, st.size].join('|'),
            () => undefined,
          ),
        },
      );
      result.inferenceMs += earlyStats.ms;
      result.stats.ms += earlyStats.ms;
      const tProcess = performance.now();
      const colorized = order.some((op) => {
        const task = operation(op).task;
        return task !== null && TASK_INFO[task].addsColour;
      });
      const note = `${colorized ? 'AI-colorized' : 'AI-processed'} by Tintype (${orderedOps(job.ops).join(', ')}) with model ${result.models.join(', ')}`;
      let alpha = image.alpha;
      if (
        alpha &&
        (result.raster.width !== image.raster.width || result.raster.height !== image.raster.height)
      ) {
        // Upscaling leaves alpha untouched in meaning: it is only resized to the new pixel grid.
        alpha = resizeChannelBilinear(
          alpha,
          image.raster.width,
          image.raster.height,
          result.raster.width,
          result.raster.height,
        );
      }
      throwIfCancelled(signal, job.input);
      onProgress?.({ fraction: 1, stage: 'writing' });
      const written = await writeImage(job.output, result.raster, {
        format,
        overwrite: job.overwrite,
        keep16bit: job.keep16bit,
        alpha,
        exif: image.exif,
        icc: image.icc,
        density: image.density,
        note,
        watermark: job.watermark ? (colorized ? 'AI-colorized' : 'AI-restored') : undefined,
        background: job.background,
      });
      // Encoded and written: the merged pixels can take the next photo's merge.
      mergeOutputDone(result.raster);
      // The mask the repair worked with (found or given), at the picture's size: the user's to edit.
      if (job.saveMask && used) await writeMask(job.saveMask, used, { overwrite: job.overwrite });
      return {
        ...base,
        ok: true,
        models: result.models,
        ...(written.notes.length ? { notes: written.notes } : {}),
        width: result.raster.width,
        height: result.raster.height,
        ms: performance.now() - t0,
        inferenceMs: result.inferenceMs,
        timings: {
          readMs: tRead - t0,
          modelsMs: tModels - tRead,
          processMs: tProcess - tModels,
          writeMs: performance.now() - tProcess,
          prepareMs: result.stats.prepareMs,
          inferMs: result.stats.ms,
          mergeMs: result.stats.mergeMs,
          hintsMs: result.stats.hintsMs,
        },
      };
    } catch (err) {
      const message = errorMessage(err);
      return {
        ...base,
        ok: false,
        cancelled: err instanceof TintypeError && err.code === 'CANCELLED' ? true : undefined,
        error:
          message.startsWith(job.input) || message.startsWith(job.output)
            ? message
            : `${job.input}: ${message}`,
        ms: performance.now() - t0,
      };
    } finally {
      this.filesInFlight--;
    }
  }
}
