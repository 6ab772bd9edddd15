import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import {
  EnginePool,
  ModelRegistry,
  defaultModelDirs,
  errorMessage,
  filmProcessor,
  renderSegment,
  TintypeError,
  type ExecutionProviderChoice,
  type Logger,
} from '../engine/index';
import { connectRedis, liveWorkers, redisLabel } from './connection';
import { checkChain } from './models';
import {
  FarmJobSchema,
  issuesInWords,
  QUEUE_NAME,
  type FarmJob,
  type FarmProgress,
  type PhotoJob,
  type PhotoJobResult,
  type SegmentJob,
  type SegmentJobResult,
} from './protocol';

/**
 * `tintype worker`: takes segment and photo jobs from the farm's queue and runs them with the same
 * engine code as a local render, on storage the coordinator sees too. Each job is validated first
 * (a malformed one fails with a message, the worker carries on), its models checked by id, version
 * and hash (a mismatch is refused: the job goes to another worker, or fails with the reason when
 * every live worker refused it), and its result committed atomically by the engine (temp + rename).
 * BullMQ's lock renewal is the heartbeat: a worker killed mid-job has its job taken over by another
 * one after the stalled-job check.
 */

export interface FarmWorkerOptions {
  redis: string;
  /** Jobs run at once (each with its own engine worker thread). */
  concurrency?: number;
  ep?: ExecutionProviderChoice;
  threads?: number;
  modelDirs?: string[];
  /** Seconds without a heartbeat before a job counts as stalled and goes to another worker (default 30). */
  stalledSeconds?: number;
  /** Shown in progress and results (default host:pid). */
  name?: string;
  log: Logger;
}

export interface FarmWorker {
  name: string;
  /** Waits for the running jobs, then disconnects. */
  close(): Promise<void>;
}

type FarmResult = SegmentJobResult | PhotoJobResult;

/** How long a refused job waits before another worker may take it. */
const REFUSAL_DELAY_MS = 1000;
/** Progress reports per job at most this often (each is a Redis write and an event). */
const PROGRESS_MS = 500;

export async function startFarmWorker(o: FarmWorkerOptions): Promise<FarmWorker> {
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const concurrency = Math.max(1, o.concurrency ?? 1);
  const registry = new ModelRegistry({ dirs: o.modelDirs });
  const pool = new EnginePool({
    ep: o.ep,
    threads: o.threads,
    workers: concurrency,
    modelDirs: o.modelDirs,
    log: o.log,
  });
  const connection = connectRedis(o.redis);
  const queue = new Queue(QUEUE_NAME, { connection });
  const stalledMs = Math.max(1, o.stalledSeconds ?? 30) * 1000;

  const report = (job: Job, done: number): Promise<void> =>
    job.updateProgress({ worker: name, done } satisfies FarmProgress).catch(() => undefined);

  /** Refuses a job this worker cannot run, so another worker gets it; fails it once every live worker refused. */
  const refuse = async (
    job: Job,
    data: FarmJob,
    token: string | undefined,
    reason: string,
  ): Promise<never> => {
    const refused = new Set([...(data.refusedBy ?? []), name]);
    const live = new Set(await liveWorkers(queue, connection).catch(() => [] as string[]));
    live.add(name);
    const message = `worker ${name} refuses ${describe(data)}: ${reason}`;
    if ([...live].every((w) => refused.has(w))) {
      const final = `${message} (every connected worker refused it: ${[...refused].join(', ')})`;
      o.log.warn(final);
      throw new UnrecoverableError(final);
    }
    o.log.warn(`${message}; leaving it to another worker`);
    await job.updateData({ ...data, refusedBy: [...refused] });
    await job.moveToDelayed(Date.now() + REFUSAL_DELAY_MS, token);
    throw new DelayedError();
  };

  const runSegment = async (job: Job, data: SegmentJob, signal?: AbortSignal): Promise<SegmentJobResult> => {
    const t0 = Date.now();
    const chain = await checkChain(registry, data.chain, { film: true });
    let last = 0;
    await report(job, 0);
    const r = await renderSegment({
      ...data.film,
      processor: filmProcessor(pool, chain),
      processorKey: chain.processorKey,
      task: data.task,
      fingerprint: data.fingerprint,
      settings: data.settings,
      // The attempt's .part name: a stalled worker that is still alive writes its own file.
      partTag: `${String(job.id).slice(-12)}-${job.attemptsStarted}-${process.pid}`,
      batchSize: 2,
      signal,
      onFrames: (frames) => {
        const now = Date.now();
        if (frames === 1 || now - last >= PROGRESS_MS) {
          last = now;
          void report(job, frames);
        }
      },
    });
    return {
      kind: 'segment',
      worker: name,
      segments: r.segments,
      layout: r.layout,
      frames: r.frames,
      processorMs: r.processorMs,
      ms: Date.now() - t0,
    };
  };

  const runPhotos = async (job: Job, data: PhotoJob, signal?: AbortSignal): Promise<PhotoJobResult> => {
    const t0 = Date.now();
    const chain = await checkChain(registry, data.chain);
    await report(job, 0);
    let finished = 0;
    const results = await Promise.all(
      data.files.map(async (f) => {
        // Outputs are written atomically, so one that exists is complete: an earlier attempt of this
        // job (its worker stalled, or was lost after writing it) finished it.
        if (!data.overwrite && (await exists(f.output))) {
          finished += 1;
          return {
            input: f.input,
            output: f.output,
            ok: true,
            notes: ['written by an earlier attempt'],
            models: [],
          };
        }
        const r = await pool.processFile(
          {
            input: f.input,
            output: f.output,
            ops: chain.ops,
            options: chain.options,
            format: data.format,
            overwrite: data.overwrite,
            watermark: data.watermark,
            background: data.background,
          },
          undefined,
          signal,
        );
        finished += 1;
        void report(job, finished);
        return {
          input: r.input,
          output: r.output,
          ok: r.ok,
          skipped: r.skipped,
          error: r.error,
          notes: r.notes,
          models: r.models,
          ms: r.ms,
        };
      }),
    );
    return { kind: 'photo', worker: name, results, ms: Date.now() - t0 };
  };

  const processor = async (job: Job, token?: string, signal?: AbortSignal): Promise<FarmResult> => {
    const parsed = FarmJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const message = `malformed job ${job.id} (${job.name}): ${issuesInWords(parsed.error)}`;
      o.log.warn(message);
      throw new UnrecoverableError(message);
    }
    const data = parsed.data;
    try {
      const result =
        data.kind === 'segment' ? await runSegment(job, data, signal) : await runPhotos(job, data, signal);
      o.log.info(`${describe(data)} done in ${((Date.now() - job.processedOn!) / 1000).toFixed(1)} s`);
      return result;
    } catch (err) {
      if (err instanceof DelayedError || err instanceof UnrecoverableError) throw err;
      if (err instanceof TintypeError && (err.code === 'MODEL_NOT_FOUND' || err.code === 'MODEL_MISMATCH'))
        return refuse(job, data, token, err.message);
      const message = `${describe(data)} failed on ${name}: ${errorMessage(err)}`;
      o.log.warn(message);
      // The render this segment belonged to is gone or planned otherwise: retrying cannot help.
      if (err instanceof TintypeError && err.code === 'JOURNAL_MISMATCH')
        throw new UnrecoverableError(message);
      throw new Error(message);
    }
  };

  const worker = new Worker(QUEUE_NAME, processor, {
    connection,
    concurrency,
    name,
    lockDuration: stalledMs,
    stalledInterval: stalledMs,
    // A job whose worker died twice (a poisoned segment that crashes the process) fails instead of looping.
    maxStalledCount: 2,
    // After Redis comes back, take jobs again within seconds (BullMQ waits 15 s by default; it
    // calls this option internal, so it is checked by the farm tests on each upgrade).
    runRetryDelay: 2000,
  });
  let down = false;
  worker.on('error', (err) => {
    if (!down) o.log.warn(`Redis at ${redisLabel(o.redis)}: ${errorMessage(err)} (retrying)`);
    down = true;
  });
  connection.on('ready', () => {
    if (down) o.log.info(`reconnected to Redis at ${redisLabel(o.redis)}`);
    down = false;
  });
  await worker.waitUntilReady();
  o.log.info(`worker ${name} waiting for jobs on ${redisLabel(o.redis)} (concurrency ${concurrency})`);
  return {
    name,
    close: async () => {
      await worker.close();
      await queue.close();
      await pool.close();
      connection.disconnect();
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function describe(data: FarmJob): string {
  return data.kind === 'segment'
    ? `segment ${data.task.index} of ${data.film.output}`
    : data.files.length === 1
      ? `photo ${data.files[0].input}`
      : `${data.files.length} photos (${data.files[0].input}, …)`;
}

/** Default model folders plus extra ones, as the other commands take them. */
export function workerModelDirs(extra?: string[]): string[] | undefined {
  return extra?.length ? [...defaultModelDirs(), ...extra] : undefined;
}
