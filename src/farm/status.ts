import { basename } from 'node:path';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { errorMessage } from '../engine/index';
import type { FarmJobView, FarmStatus } from '../shared/api';
import { liveWorkers, redisLabel } from './connection';
import { FarmJobSchema, FarmProgressSchema, QUEUE_NAME } from './protocol';

/**
 * What the app's queue panel shows of a render farm: the connected workers and the most recent jobs
 * (running first), with who runs what. One short-lived connection per look, failing fast: the panel
 * asks again in a few seconds.
 */

const STATES = ['active', 'waiting', 'delayed', 'prioritized', 'failed', 'completed'] as const;

function view(job: Job, state: string): FarmJobView {
  const data = FarmJobSchema.safeParse(job.data);
  const progress = FarmProgressSchema.safeParse(job.progress);
  const result = job.returnvalue as { worker?: unknown } | null | undefined;
  const worker = progress.success
    ? progress.data.worker
    : typeof result?.worker === 'string'
      ? result.worker
      : undefined;
  const label = !data.success
    ? `malformed job ${job.id}`
    : data.data.kind === 'segment'
      ? `${basename(data.data.film.output)} · segment ${data.data.task.index + 1}`
      : data.data.files.length === 1
        ? basename(data.data.files[0].input)
        : `${basename(data.data.files[0].input)} + ${data.data.files.length - 1} more`;
  return {
    id: String(job.id),
    kind: data.success ? data.data.kind : 'unknown',
    label,
    state,
    ...(worker ? { worker } : {}),
    ...(progress.success ? { done: progress.data.done } : {}),
    attempts: job.attemptsMade,
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
  };
}

export async function farmStatus(url: string, limit = 40): Promise<FarmStatus> {
  if (!url) return { url: '', error: '', workers: [], jobs: [] };
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let why = '';
  redis.on('error', (e: Error) => (why ||= e.message));
  const queue = new Queue(QUEUE_NAME, { connection: redis });
  queue.on('error', () => undefined);
  try {
    await Promise.race([
      queue.waitUntilReady(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000).unref()),
    ]);
    const jobs: FarmJobView[] = [];
    for (const state of STATES) {
      if (jobs.length >= limit) break;
      for (const job of await queue.getJobs([state], 0, limit - jobs.length - 1))
        if (job) jobs.push(view(job, state));
    }
    return { url, error: '', workers: await liveWorkers(queue, redis), jobs };
  } catch (err) {
    return { url, error: `${redisLabel(url)}: ${why || errorMessage(err)}`, workers: [], jobs: [] };
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}
