import { createHash } from 'node:crypto';
import {
  VideoError,
  type ModelChain,
  type SegmentDispatcher,
  type SegmentTask,
  type VideoProcessor,
} from '../engine/index';
import { runFarmJobs } from './jobs';
import { chainPayload } from './models';
import { SegmentJobResultSchema, type FilmSettings } from './protocol';

/**
 * The coordinator of `tintype video … --farm`: renderVideo keeps the plan, the work folder, the
 * journal and the join; this puts one job per missing segment on the queue (jobs.ts), journals each
 * segment as its job completes, and sums the workers' progress. A segment that fails for good is
 * reported with its reason once the others are done; the finished ones stay for a rerun.
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
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  onNote?: (n: string) => void;
  /** Filled in as segments complete. */
  stats?: FarmStats;
}

/** The processor shape a farm render plans with; its frames are rendered by the workers, never here. */
export function farmProcessor(chain: Pick<ModelChain, 'ops' | 'frames'>): VideoProcessor {
  const elsewhere = (): never => {
    throw new Error('internal: a farm render processes no frame in the coordinator');
  };
  // The same shape filmProcessor gives the workers: the YUV path for colorize only.
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
      // The same render (work folder and settings) always gets the same job ids.
      const renderKey = createHash('sha256')
        .update(`${ctx.workDir}\0${ctx.fingerprint}`)
        .digest('hex')
        .slice(0, 16);
      const byId = new Map<string, SegmentTask>(tasks.map((t) => [`seg-${renderKey}-${t.index}`, t]));
      const chain = chainPayload(o.chain);
      const progress = new Map<string, number>();
      const failures: string[] = [];
      const inFlight = (): void => ctx.inFlight([...progress.values()].reduce((a, b) => a + b, 0));
      await runFarmJobs({
        redis: o.redis,
        attempts: o.attempts,
        backoffMs: o.backoffMs,
        timeoutMs: o.timeoutMs,
        signal: o.signal,
        onNote: o.onNote,
        jobs: [...byId].map(([id, task]) => ({
          id,
          data: {
            kind: 'segment',
            chain,
            film: o.film,
            task,
            fingerprint: ctx.fingerprint,
            settings: ctx.settings,
          },
        })),
        onProgress: (id, p) => {
          progress.set(id, p.done);
          inFlight();
        },
        onCompleted: async (id, job) => {
          const task = byId.get(id)!;
          const r = SegmentJobResultSchema.safeParse(job.returnvalue);
          if (!r.success) failures.push(`segment ${task.index}: the worker's result is unreadable`);
          else {
            await ctx.commit({ segments: r.data.segments, layout: r.data.layout });
            if (o.stats) {
              o.stats.workers[r.data.worker] = (o.stats.workers[r.data.worker] ?? 0) + 1;
              const taken = job.processedOn ?? job.timestamp;
              const finished = job.finishedOn ?? Date.now();
              o.stats.jobs.push({
                index: task.index,
                worker: r.data.worker,
                waitMs: taken - job.timestamp,
                runMs: finished - taken,
                renderMs: r.data.ms,
                seenMs: Date.now() - finished,
              });
            }
          }
          progress.delete(id);
          inFlight();
        },
        onFailed: async (id, job) => {
          const task = byId.get(id)!;
          failures.push(`segment ${task.index}: ${job.failedReason || 'failed'}`);
          o.onNote?.(`segment ${task.index} failed after ${job.attemptsMade} attempts: ${job.failedReason}`);
          progress.delete(id);
          inFlight();
        },
      });
      if (failures.length)
        throw new VideoError(
          `${failures.length} of ${tasks.length} segments failed on the farm: ${failures.join('; ')}`,
          'FARM_JOB_FAILED',
          o.film.input,
        );
    },
  };
}
