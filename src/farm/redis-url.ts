import { VideoError } from '../engine/index';

// The farm's Redis URLs, checked and shown without loading ioredis or BullMQ: every CLI command
// parses --farm/--redis, and those libraries cost ~0.35 s of start-up CPU (measured) that a
// command not using the farm should not pay.

/** Checks a --redis / --farm value: redis://[user:pass@]host[:port][/db] or rediss://. */
export function checkRedisUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new VideoError(`"${url}" is not a Redis URL (redis://host:6379)`, 'BAD_ARGUMENT');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new VideoError(`"${url}": use redis://host:port or rediss://host:port`, 'BAD_ARGUMENT');
  return url;
}

/** The URL without a password, for messages. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.username = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
