import { createHash } from 'node:crypto';
import { Queue, QueueEvents, type Job } from 'bullmq';
import {
  errorMessage,
  VideoError,
  type ModelChain,
  type SegmentDispatcher,
  type SegmentTask,
  type VideoProcessor,
} from '../engine/index';
import { connectRedis, liveWorkers, redisLabel, watchRedis } from './connection';
import { chainPayload } from './models';
import {
  FarmProgressSchema,
  QUEUE_NAME,
  SegmentJobResultSchema,
  type FilmSettings,
  type SegmentJob,
} from './protocol';

/**
 * The coordinator of `tintype video … --farm`: renderVideo keeps the plan, the work folder, the
 * journal and the join; this puts one job per missing segment on the queue, adopts jobs an earlier
 * run left (a rerun resumes), journals each segment as its job completes, and sums the workers'
 * progress. Segment jobs are retried with backoff; one that fails for good is reported with its
 * reason once the others are done. Redis may restart meanwhile (everything waits and reconnects);
 * when it does not answer for `timeoutMs` the render stops with that error, finished segments kept.
 */

export interface FarmStats {
  /** Segments each worker rendered in this run. */
  workers: Record<string, number>;
  /**
   * Per completed segment job (ms): queued → taken by a worker (`waitMs`), taken → completed in
   * Redis (`runMs`), of which the worker's own render (`renderMs`), and completed → seen here
   * (`seenMs`). The queue's overhead is `runMs - renderMs + seenMs` plus `waitMs` when a worker was idle.
   */
  jobs: { index: number; worker: string; waitMs: number; runMs: number; renderMs: number; seenMs: number }[];
}

export interface VideoFarmOptions {
  redis: string;
  chain: ModelChain;
  film: FilmSettings;
  /** Attempts per segment job (default 3), with exponential backoff from `backoffMs` (default 2000). */
  attempts?: number;
  backoffMs?: number;
  /** Redis silent this long: give up (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  onNote?: (n: string) => void;
  /** Filled in as segments complete. */
  stats?: FarmStats;
}

/** Settled job states (the rest: waiting, delayed, active, prioritized, waiting-children). */
const FINAL = new Set(['completed', 'failed']);
/** The safety net under QueueEvents: outstanding jobs are looked at this often. */
const POLL_MS = 2000;

/** The processor shape a farm render plans with; its frames are rendered by the workers, never here. */
export function farmProcessor(chain: Pick<ModelChain, 'ops' | 'frames'>): VideoProcessor {
  const elsewhere = (): never => {
    throw new Error('internal: a farm render processes no frame in the coordinator');
  };
  // The same shape filmProcessor gives the workers: YUV path for colorize only.
  return chain.frames === 3
    ? { frames: 3, process: elsewhere }
    : {
        frames: 1,
        process: elsewhere,
        ...(chain.ops.length === 1 && chain.ops[0] === 'colorize' ? { luma: elsewhere } : {}),
      };
}

export function videoFarm(o: VideoFarmOptions): SegmentDispatcher {
  return {
    async run(tasks, ctx) {
      const connection = connectRedis(o.redis);
      const queue = new Queue(QUEUE_NAME, { connection });
      const eventsConnection = connectRedis(o.redis);
      const events = new QueueEvents(QUEUE_NAME, { connection: eventsConnection });
      let fail: (e: Error) => void = () => undefined;
      const failed = new Promise<never>((_, reject) => (fail = reject));
      failed.catch(() => undefined);
      const watchdog = watchRedis(connection, o.redis, o.timeoutMs ?? 30_000, (e) => fail(e));
      const onAbort = (): void => fail(new VideoError('cancelled', 'CANCELLED'));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      // Our jobs' ids: the same render (work folder and settings) always gets the same ones.
      const renderKey = createHash('sha256')
        .update(`${ctx.workDir}\0${ctx.fingerprint}`)
        .digest('hex')
        .slice(0, 16);
      const jobId = (t: SegmentTask): string => `seg-${renderKey}-${t.index}`;
      const outstanding = new Map(tasks.map((t) => [jobId(t), t]));
      const progress = new Map<string, number>();
      const failures: string[] = [];
      try {
        await Promise.race([watchdog.ready, failed]);
        await Promise.race([enqueue(), failed]);
        if ((await liveWorkers(queue, connection).catch(() => ['?'])).length === 0)
          o.onNote?.(
            `no worker is connected to ${redisLabel(o.redis)} yet: start some with "tintype worker --redis ${redisLabel(o.redis)}"`,
          );

        let wake: () => void = () => undefined;
        const settling = new Map<string, Promise<void>>();
        const settle = (id: string): Promise<void> => {
          let p = settling.get(id);
          if (!p) {
            p = look(id).finally(() => settling.delete(id));
            settling.set(id, p);
          }
          return p;
        };
        const look = async (id: string): Promise<void> => {
          if (!outstanding.has(id)) return;
          const job = await queue.getJob(id);
          const state = job ? await job.getState() : 'missing';
          if (state === 'missing') {
            // Removed by hand (or by Redis losing its data): put it back.
            await add([outstanding.get(id)!]);
            return;
          }
          if (!FINAL.has(state) || !outstanding.has(id)) return;
          const task = outstanding.get(id)!;
          if (state === 'completed') {
            const r = SegmentJobResultSchema.safeParse(job!.returnvalue);
            if (!r.success) failures.push(`segment ${task.index}: the worker's result is unreadable`);
            else {
              await ctx.commit({ segments: r.data.segments, layout: r.data.layout });
              if (o.stats) {
                o.stats.workers[r.data.worker] = (o.stats.workers[r.data.worker] ?? 0) + 1;
                const j = job!;
                const taken = j.processedOn ?? j.timestamp;
                const finished = j.finishedOn ?? Date.now();
                o.stats.jobs.push({
                  index: task.index,
                  worker: r.data.worker,
                  waitMs: taken - j.timestamp,
                  runMs: finished - taken,
                  renderMs: r.data.ms,
                  seenMs: Date.now() - finished,
                });
              }
            }
          } else {
            failures.push(`segment ${task.index}: ${job!.failedReason || 'failed'}`);
            o.onNote?.(
              `segment ${task.index} failed after ${job!.attemptsMade} attempts: ${job!.failedReason}`,
            );
          }
          outstanding.delete(id);
          progress.delete(id);
          ctx.inFlight([...progress.values()].reduce((a, b) => a + b, 0));
          wake();
        };
        events.on('completed', ({ jobId: id }) => void settle(id).catch(fail));
        events.on('failed', ({ jobId: id }) => void settle(id).catch(fail));
        events.on('progress', ({ jobId: id, data }) => {
          const p = FarmProgressSchema.safeParse(data);
          if (!p.success || !outstanding.has(id)) return;
          progress.set(id, p.data.done);
          ctx.inFlight([...progress.values()].reduce((a, b) => a + b, 0));
        });
        await Promise.race([events.waitUntilReady(), failed]);
        // Jobs that finished before we listened (a rerun adopting them, or a quick worker).
        await Promise.race([Promise.all([...outstanding.keys()].map(settle)), failed]);
        while (outstanding.size) {
          const woken = new Promise<void>((r) => (wake = r));
          const tick = new Promise((r) => setTimeout(r, POLL_MS).unref());
          await Promise.race([woken, tick, failed]);
          if (!outstanding.size) break;
          await Promise.race([Promise.all([...outstanding.keys()].map(settle)), failed]);
        }
        await Promise.all(settling.values());
        if (failures.length)
          throw new VideoError(
            `${failures.length} of ${tasks.length} segments failed on the farm: ${failures.join('; ')}`,
            'FARM_JOB_FAILED',
            o.film.input,
          );
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

      /** Adds the tasks' jobs, adopting ones an earlier run left waiting or running; finished leftovers are replaced. */
      async function enqueue(): Promise<void> {
        const fresh: SegmentTask[] = [];
        for (const t of tasks) {
          const old = await queue.getJob(jobId(t));
          const state = old ? await old.getState() : undefined;
          if (old && state && FINAL.has(state)) {
            // Its segment is not in the work folder (the reconcile would have kept it): render it again.
            await old.remove().catch(() => undefined);
            fresh.push(t);
          } else if (!old) fresh.push(t);
        }
        await add(fresh);
        if (fresh.length < tasks.length)
          o.onNote?.(
            `${tasks.length - fresh.length} segment jobs of an earlier run are still queued or running: waiting for them`,
          );
      }

      async function add(list: SegmentTask[]): Promise<void> {
        const chain = chainPayload(o.chain);
        await queue.addBulk(
          list.map((task) => ({
            name: 'segment',
            data: {
              kind: 'segment',
              chain,
              film: o.film,
              task,
              fingerprint: ctx.fingerprint,
              settings: ctx.settings,
            } satisfies SegmentJob,
            opts: {
              jobId: jobId(task),
              attempts: Math.max(1, o.attempts ?? 3),
              backoff: { type: 'exponential', delay: o.backoffMs ?? 2000 },
              // The coordinator reads the result and journals it; Redis need not keep it for long.
              removeOnComplete: { age: 24 * 3600 },
              removeOnFail: { age: 7 * 24 * 3600 },
            },
          })),
        );
      }

      /** Ctrl-C: the jobs nobody has started yet go; running ones finish and a rerun adopts their segments. */
      async function withdraw(): Promise<void> {
        await Promise.all(
          [...outstanding.keys()].map(async (id) => {
            const job: Job | undefined = await queue.getJob(id);
            const state = job ? await job.getState() : undefined;
            if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized'))
              await job.remove().catch(() => undefined);
          }),
        );
      }
    },
  };
}
