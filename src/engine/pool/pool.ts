import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import PQueue from 'p-queue';
import type { EngineOptions } from '../engine';
import { TintypeError, type ErrorCode } from '../errors';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import type {
  ChromaPlanes,
  FileJob,
  FileResult,
  LumaFrame,
  OpName,
  OpOptions,
  ProgressEvent,
  Raster,
} from '../types';
import type { WorkerReply, WorkerRequest } from './protocol';

export interface PoolOptions extends Omit<EngineOptions, 'threads' | 'log'> {
  /** Worker threads, each with its own model sessions (default 1: ONNX Runtime already uses every core). */
  workers?: number;
  /** Total CPU threads for inference, split between workers (default: all cores). */
  threads?: number;
  /** Jobs allowed to wait; submitting more waits for room (back-pressure). */
  maxQueue?: number;
  log?: Logger;
  /** The worker script; found next to the built bundle, or the TypeScript source run through tsx. */
  workerPath?: string;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Pending {
  resolve: (v: WorkerReply) => void;
  reject: (e: Error) => void;
  onProgress?: (e: ProgressEvent) => void;
  slot: Slot;
}

function locateWorker(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [here, dirname(here)]) {
    const built = join(dir, 'engine-worker.js');
    // In a packaged app the worker is unpacked beside the asar archive (electron-builder asarUnpack).
    const unpacked = built.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
    if (unpacked !== built && existsSync(unpacked)) return unpacked;
    if (existsSync(built)) return built;
  }
  const source = join(here, 'worker.ts');
  if (existsSync(source)) return source;
  throw new Error(`engine worker script not found near ${here}`);
}

/**
 * Starts a worker from the built .js, or from the TypeScript source (tests, tsx scripts) through a
 * small bootstrap that registers tsx inside the worker: Node 20 does not pass --import loaders on.
 */
function startWorker(path: string, workerData: unknown): Worker {
  if (!path.endsWith('.ts')) return new Worker(path, { workerData });
  const tsxRoot = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsx = pathToFileURL(join(tsxRoot, 'dist', 'esm', 'api', 'index.mjs')).href;
  const code = `import(${JSON.stringify(tsx)}).then(async (m) => { m.register(); await import(${JSON.stringify(pathToFileURL(path).href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

/**
 * A copy of a raster with its own buffer, to transfer to a worker. Posting the caller's raster by
 * structured clone instead kept every posted frame alive in this thread until the whole render ended
 * (measured: +6 MB per 1080p frame of a film).
 */
function detachedCopy(r: Raster): Raster {
  return { width: r.width, height: r.height, channels: r.channels, depth: r.depth, data: r.data.slice() };
}

/**
 * A pool of worker threads that run engine jobs, so the caller's event loop (Electron's main
 * process, the CLI's progress bar, the server) never blocks on pixels or inference.
 */
export class EnginePool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly queue: PQueue;
  private readonly maxQueue: number;
  private readonly log: Logger;
  /** Log line → the worker that said it first. */
  private readonly logged = new Map<string, number>();
  private nextId = 1;
  private closed = false;

  constructor(opts: PoolOptions = {}) {
    const workers = Math.max(1, opts.workers ?? 1);
    const threads = Math.max(1, opts.threads ?? availableParallelism());
    this.log = opts.log ?? silentLogger;
    this.maxQueue = Math.max(1, opts.maxQueue ?? 64);
    this.queue = new PQueue({ concurrency: workers });
    const workerPath = opts.workerPath ?? locateWorker();
    const init = {
      ep: opts.ep,
      modelDirs: opts.modelDirs,
      threads: Math.max(1, Math.floor(threads / workers)),
    };
    for (let i = 0; i < workers; i++) {
      const worker = startWorker(workerPath, init);
      const slot: Slot = { worker, busy: false };
      worker.on('message', (msg: WorkerReply) => this.onMessage(msg, i));
      worker.on('error', (err) => this.failSlot(slot, err));
      worker.on('exit', (code) => {
        if (!this.closed) this.failSlot(slot, new Error(`engine worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  get size(): number {
    return this.queue.size;
  }

  private onMessage(msg: WorkerReply, worker: number): void {
    if (msg.type === 'log') {
      // Every worker meets the same machine: a line another worker already logged (the GPU fallback,
      // say) is said once. A worker repeating itself is still heard.
      const first = this.logged.get(msg.message);
      if (first !== undefined && first !== worker) return;
      this.logged.set(msg.message, worker);
      this.log[msg.level](msg.message);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') {
      p.onProgress?.(msg.event);
      return;
    }
    this.pending.delete(msg.id);
    p.slot.busy = false;
    if (msg.type === 'error')
      p.reject(new TintypeError(msg.message, (msg.code as ErrorCode) ?? 'BAD_ARGUMENT'));
    else p.resolve(msg);
  }

  private failSlot(slot: Slot, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot === slot) {
        this.pending.delete(id);
        p.reject(err);
      }
    }
    slot.busy = false;
  }

  /**
   * `signal` aborts the request: one still waiting never reaches a worker (CANCELLED at once), one
   * running is told to stop at its next tile or step, and answers as soon as it has.
   */
  private async submit(
    build: (id: number) => WorkerRequest,
    transfer: ArrayBuffer[],
    onProgress?: (e: ProgressEvent) => void,
    signal?: AbortSignal,
  ): Promise<WorkerReply> {
    if (this.closed) throw new Error('engine pool is closed');
    await this.queue.onSizeLessThan(this.maxQueue);
    return this.queue.add(
      () =>
        new Promise<WorkerReply>((resolve, reject) => {
          if (signal?.aborted) {
            reject(new TintypeError('cancelled', 'CANCELLED'));
            return;
          }
          const slot = this.slots.find((s) => !s.busy);
          if (!slot) {
            reject(new Error('internal: no idle engine worker'));
            return;
          }
          slot.busy = true;
          const id = this.nextId++;
          const onAbort = () => slot.worker.postMessage({ id, kind: 'cancel' } satisfies WorkerRequest);
          signal?.addEventListener('abort', onAbort, { once: true });
          const done = () => signal?.removeEventListener('abort', onAbort);
          this.pending.set(id, {
            resolve: (v) => (done(), resolve(v)),
            reject: (e) => (done(), reject(e)),
            onProgress,
            slot,
          });
          slot.worker.postMessage(build(id), transfer);
        }),
    );
  }

  async processFile(
    job: FileJob,
    onProgress?: (e: ProgressEvent) => void,
    signal?: AbortSignal,
  ): Promise<FileResult> {
    let reply: WorkerReply;
    try {
      reply = await this.submit((id) => ({ id, kind: 'file', job }), [], onProgress, signal);
    } catch (err) {
      if (err instanceof TintypeError && err.code === 'CANCELLED')
        return {
          input: job.input,
          output: job.output,
          ok: false,
          cancelled: true,
          error: `${job.input}: cancelled`,
          ops: job.ops,
          models: [],
        };
      throw err;
    }
    if (reply.type !== 'file') throw new Error('internal: unexpected reply');
    return reply.result;
  }

  /** The caller keeps its raster: a copy is transferred to the worker, and the result transferred back. */
  async processRaster(
    raster: Raster,
    ops: OpName[],
    options: OpOptions = {},
    signal?: AbortSignal,
  ): Promise<Raster> {
    const copy = detachedCopy(raster);
    const reply = await this.submit(
      (id) => ({ id, kind: 'raster', raster: copy, ops, options }),
      [copy.data.buffer as ArrayBuffer],
      undefined,
      signal,
    );
    if (reply.type !== 'raster') throw new Error('internal: unexpected reply');
    return reply.raster;
  }

  /**
   * Colorizes a YUV film frame from its luma plane (a copy is transferred; the caller keeps its
   * frame) and resolves to the new U,V planes.
   */
  async colorizeLuma(frame: LumaFrame, options: OpOptions = {}): Promise<ChromaPlanes> {
    const copy: LumaFrame = { ...frame, luma: frame.luma.slice() };
    const reply = await this.submit(
      (id) => ({ id, kind: 'luma', frame: copy, options }),
      [copy.luma.buffer as ArrayBuffer],
    );
    if (reply.type !== 'chroma') throw new Error('internal: unexpected reply');
    return reply.planes;
  }

  /** One frame with its neighbours [t-1, t, t+1], for multi-frame (3-frame) models. */
  async processWindow(
    frames: [Raster, Raster, Raster],
    ops: OpName[],
    options: OpOptions = {},
    signal?: AbortSignal,
  ): Promise<Raster> {
    const copies = frames.map(detachedCopy) as [Raster, Raster, Raster];
    const reply = await this.submit(
      (id) => ({ id, kind: 'window', frames: copies, ops, options }),
      copies.map((c) => c.data.buffer as ArrayBuffer),
      undefined,
      signal,
    );
    if (reply.type !== 'raster') throw new Error('internal: unexpected reply');
    return reply.raster;
  }

  /** Waits for queued work, then stops the threads. */
  async close(): Promise<void> {
    await this.queue.onIdle();
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
