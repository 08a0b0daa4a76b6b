import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface ConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
  logger?: Logger;
  /** Name shown in `CLIENT LIST`. */
  name?: string;
  /** For blocking commands and BullMQ: wait for reconnection instead of failing commands. Default true. */
  waitForever?: boolean;
  /**
   * Send the commands issued in one tick as one pipeline. Default false. Only for connections that carry no
   * BullMQ scripts: ioredis copies every defined script onto each pipeline it makes.
   */
  autoPipelining?: boolean;
}

/** The default Redis URL: `$REDIS_URL`, else the local server. */
export function defaultRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/**
 * Opens an ioredis connection that reconnects with capped exponential backoff and logs (once per outage)
 * rather than throwing when Redis goes away. BullMQ requires `maxRetriesPerRequest: null`.
 */
export function createRedis(options: ConnectionOptions): Redis {
  const { url, logger } = options;
  let down = false;
  const redisOptions: RedisOptions = {
    maxRetriesPerRequest: options.waitForever === false ? 3 : null,
    enableReadyCheck: true,
    connectionName: options.name,
    enableAutoPipelining: options.autoPipelining === true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 2_000),
    reconnectOnError: (error) => error.message.includes('READONLY'),
  };
  const redis = new Redis(url, redisOptions);
  redis.on('error', (error: Error) => {
    if (!down) logger?.warn({ err: error.message, redis: redactUrl(url) }, 'redis connection error; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger?.info({ redis: redactUrl(url) }, 'redis connection restored');
    down = false;
  });
  return redis;
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid redis url>';
  }
}
