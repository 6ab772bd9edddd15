import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { VideoError } from '../engine/index';
import { checkRedisUrl, redisLabel } from './redis-url';

/**
 * Connections to the farm's Redis. ioredis reconnects by itself after Redis restarts (commands wait
 * meanwhile, as BullMQ requires); what gives up is the coordinator's watchdog, after `timeoutMs`
 * without an answer, so "Redis is gone" becomes a clear error instead of a hang.
 */

export { checkRedisUrl, redisLabel } from './redis-url';

export function connectRedis(url: string): Redis {
  const redis = new Redis(checkRedisUrl(url), {
    // BullMQ's blocking commands must wait out a reconnect, not fail after a few retries.
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(200 * times, 2000),
  });
  // Connection errors are reported by whoever waits (the watchdog, the worker's log), not thrown.
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Pings Redis every second; `lost` fires once when no ping has been answered for `timeoutMs`
 * (also before the first answer: an unreachable Redis at the start).
 */
export function watchRedis(
  redis: Redis,
  url: string,
  timeoutMs: number,
  lost: (err: VideoError) => void,
): { stop(): void; ready: Promise<void> } {
  let lastOk = Date.now();
  let stopped = false;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (markReady = r));
  let lastError = '';
  redis.on('error', (e: Error) => (lastError = e.message));
  const tick = async (): Promise<void> => {
    while (!stopped) {
      const answered = await Promise.race([
        redis.ping().then(
          () => true,
          () => false,
        ),
        new Promise<false>((r) => setTimeout(() => r(false), 1000).unref()),
      ]);
      if (stopped) return;
      if (answered) {
        lastOk = Date.now();
        markReady();
        await new Promise((r) => setTimeout(r, 1000).unref());
      } else if (Date.now() - lastOk > timeoutMs) {
        stopped = true;
        lost(
          new VideoError(
            `Redis at ${redisLabel(url)} has not answered for ${Math.round(timeoutMs / 1000)} s${lastError ? ` (${lastError})` : ''}`,
            'FARM_UNREACHABLE',
          ),
        );
        return;
      }
    }
  };
  void tick();
  return {
    stop: () => {
      stopped = true;
    },
    ready,
  };
}

/**
 * Names of the workers connected to this queue now (BullMQ names each worker's Redis client), on
 * this connection's database only: CLIENT LIST shows every database's clients.
 */
export async function liveWorkers(queue: Queue, redis: Redis): Promise<string[]> {
  const db = String(redis.options.db ?? 0);
  const clients = (await queue.getWorkers()) as { rawname?: string; db?: string }[];
  return [
    ...new Set(
      clients.filter((c) => (c.db ?? '0') === db).map((c) => String(c.rawname ?? '').replace(/^.*:w:/, '')),
    ),
  ];
}
