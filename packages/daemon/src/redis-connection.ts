import { Redis } from 'ioredis';

/** Where the `runs` queue lives when stepwise.yaml names no Redis: `$REDIS_URL`, else the local default. */
export function runsRedisUrl(given?: string): string {
  return given ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** The package's one door to Redis: a connection for BullMQ (which needs `maxRetriesPerRequest: null`). */
export function createRunsRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  // Connection errors surface through BullMQ's calls; an unhandled 'error' event must not crash the process.
  redis.on('error', () => {});
  return redis;
}
