import { Queue, QueueEvents, type Job } from 'bullmq';
import { errorMessage, VideoError } from '../engine/index';
import { connectRedis, liveWorkers, redisLabel, watchRedis } from './connection';
import { FarmProgressSchema, QUEUE_NAME, type FarmJob, type FarmProgress } from './protocol';

/**
 * A coordinator's side of the queue, for films and photos alike: puts its jobs on the queue
 * (adopting ones an earlier run left waiting or running, replacing finished leftovers), then
 * settles each one as it completes or fails, from QueueEvents and, as a safety net, a slow poll.
 * Jobs are retried with exponential backoff; one that fails for good is reported and the others
 * carry on. Redis may restart meanwhile (everything waits and reconnects); when it does not answer
 * for `timeoutMs` this stops with that error. Ctrl-C withdraws the jobs nobody has started.
 */

export interface FarmJobSpec {
  /** Deterministic: the same work always gets the same id, so a rerun finds its jobs. */
  id: string;
  data: FarmJob;
}

export interface RunJobsOptions {
  redis: string;
  jobs: FarmJobSpec[];
  /** Attempts per job (default 3), with exponential backoff from `backoffMs` (default 2000). */
  attempts?: number;
  backoffMs?: number;
  /** Redis silent this long: give up (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  onNote?: (n: string) => void;
  /** A job completed: its result (unchecked: the caller parses it). */
  onCompleted: (id: string, job: Job) => Promise<void>;
  /** A job failed after its last attempt. */
  onFailed: (id: string, job: Job) => Promise<void>;
  /** A worker reported progress on a job (who runs it, how far). */
  onProgress?: (id: string, p: FarmProgress) => void;
}

/** Settled job states (the rest: waiting, delayed, active, prioritized, waiting-children). */
const FINAL = new Set(['completed', 'failed']);
/** The safety net under QueueEvents: outstanding jobs are looked at this often. */
const POLL_MS = 2000;

export async function runFarmJobs(o: RunJobsOptions): Promise<void> {
  const connection = connectRedis(o.redis);
  const eventsConnection = connectRedis(o.redis);
  const queue = new Queue(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection: eventsConnection });
  let fail: (e: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const race = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failed]);
  const watchdog = watchRedis(connection, o.redis, o.timeoutMs ?? 30_000, (e) => fail(e));
  const onAbort = (): void => fail(new VideoError('cancelled', 'CANCELLED'));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const specs = new Map(o.jobs.map((j) => [j.id, j]));
  const outstanding = new Set(specs.keys());

  const add = async (list: FarmJobSpec[]): Promise<void> => {
    if (!list.length) return;
    await queue.addBulk(
      list.map((j) => ({
        name: j.data.kind,
        data: j.data,
        opts: {
          jobId: j.id,
          attempts: Math.max(1, o.attempts ?? 3),
          backoff: { type: 'exponential', delay: o.backoffMs ?? 2000 },
          // The coordinator reads the result and records it; Redis need not keep it for long.
          removeOnComplete: { age: 24 * 3600 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      })),
    );
  };

  const settling = new Map<string, Promise<void>>();
  let wake: () => void = () => undefined;
  const look = async (id: string): Promise<void> => {
    if (!outstanding.has(id)) return;
    // The state first, then the job: a job read while active would carry no result yet.
    const state = await queue.getJobState(id);
    if (state === 'unknown') {
      // Removed by hand, or Redis lost its data: put it back.
      await add([specs.get(id)!]);
      return;
    }
    if (!FINAL.has(state) || !outstanding.has(id)) return;
    const job = await queue.getJob(id);
    if (!job) return; // removed meanwhile: the next look puts it back
    if (state === 'completed') await o.onCompleted(id, job);
    else await o.onFailed(id, job);
    outstanding.delete(id);
    wake();
  };
  const settle = (id: string): Promise<void> => {
    let p = settling.get(id);
    if (!p) {
      p = look(id).finally(() => settling.delete(id));
      settling.set(id, p);
    }
    return p;
  };

  try {
    await race(watchdog.ready);
    await race(enqueue());
    if ((await liveWorkers(queue, connection).catch(() => ['?'])).length === 0)
      o.onNote?.(
        `no worker is connected to ${redisLabel(o.redis)} yet: start some with "tintype worker --redis ${redisLabel(o.redis)}"`,
      );
    events.on('completed', ({ jobId }) => void settle(jobId).catch(fail));
    events.on('failed', ({ jobId }) => void settle(jobId).catch(fail));
    events.on('progress', ({ jobId, data }) => {
      const p = FarmProgressSchema.safeParse(data);
      if (p.success && outstanding.has(jobId)) o.onProgress?.(jobId, p.data);
    });
    await race(events.waitUntilReady());
    // Jobs that finished before we listened (adopted from an earlier run, or a quick worker).
    await race(Promise.all([...outstanding].map(settle)));
    while (outstanding.size) {
      const woken = new Promise<void>((r) => (wake = r));
      await race(Promise.race([woken, new Promise((r) => setTimeout(r, POLL_MS).unref())]));
      if (outstanding.size) await race(Promise.all([...outstanding].map(settle)));
    }
    await race(Promise.all(settling.values()));
  } catch (err) {
    if (err instanceof VideoError && err.code === 'CANCELLED') await withdraw().catch(() => undefined);
    throw err instanceof Error ? err : new Error(errorMessage(err));
  } finally {
    watchdog.stop();
    o.signal?.removeEventListener('abort', onAbort);
    // Closing waits for Redis; when it is gone, do not hang on it.
    const close = Promise.allSettled([events.close(), queue.close()]);
    await Promise.race([close, new Promise((r) => setTimeout(r, 1000).unref())]);
    eventsConnection.disconnect();
    connection.disconnect();
  }

  /** Adds the jobs, adopting ones an earlier run left waiting or running; finished leftovers are replaced. */
  async function enqueue(): Promise<void> {
    const fresh: FarmJobSpec[] = [];
    for (const spec of o.jobs) {
      const old = await queue.getJob(spec.id);
      const state = old ? await old.getState() : undefined;
      if (old && state && FINAL.has(state)) {
        // Its result is not on disk (the caller would not have asked for it): do it again.
        await old.remove().catch(() => undefined);
        fresh.push(spec);
      } else if (!old) fresh.push(spec);
    }
    await add(fresh);
    if (fresh.length < o.jobs.length)
      o.onNote?.(
        `${o.jobs.length - fresh.length} jobs of an earlier run are still queued or running: waiting for them`,
      );
  }

  /** Ctrl-C: the jobs nobody has started yet go; running ones finish and a rerun adopts their results. */
  async function withdraw(): Promise<void> {
    await Promise.all(
      [...outstanding].map(async (id) => {
        const job = await queue.getJob(id);
        const state = job ? await job.getState() : undefined;
        if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized'))
          await job.remove().catch(() => undefined);
      }),
    );
  }
}
