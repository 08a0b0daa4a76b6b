import { DEFAULT_PREFIX } from './keys.js';
import { defaultRedisUrl } from './redis-connection.js';

/** Options of the queue executor (`execution.queue` in run config; defaults from `stepwise.yaml`). */
export interface QueueExecutorOptions {
  /** Redis the coordinator and workers share. Default `$REDIS_URL`, else redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** Prefix of every key, queue and stream. Default `stepwise`. */
  prefix?: string;
  /** Queue of steps whose op has no `queue` tag. Default `default`. */
  defaultQueue?: string;
  /** Lock a worker holds on a step; a worker silent this long is presumed lost and its step re-run. Default 30,000. */
  lockDurationMs?: number;
  /**
   * Steps of the run queued or running at once. Default: 32 per worker slot serving the run's queues (from the
   * worker registry, re-read every 2 s), at least 1,000. Each step in flight costs the coordinator memory (about
   * half a kilobyte), so a backlog far beyond what the workers can take only costs.
   */
  maxStepsInFlight?: number;
  /**
   * Fail a step still waiting in its queue after this long (no worker took it); 0 waits forever.
   * Default 300,000 (5 minutes).
   */
  queueTimeoutMs?: number;
  /** Warn (ENGINE_EVENT) when a queued step's queue has had no live worker for this long. Default 10,000. */
  noWorkerGraceMs?: number;
  /** How often in-flight steps are checked for a queue timeout or a lost job. Default 1,000. */
  watchIntervalMs?: number;
}

export type ResolvedQueueOptions = Required<Omit<QueueExecutorOptions, 'maxStepsInFlight'>> &
  Pick<QueueExecutorOptions, 'maxStepsInFlight'>;

/** In-flight steps per live worker slot when maxStepsInFlight is not set: two full bundles each. */
export const IN_FLIGHT_PER_SLOT = 32;
/** Least in-flight steps when maxStepsInFlight is not set (workers not registered yet count as none). */
export const MIN_IN_FLIGHT = 1_000;

export function resolveQueueOptions(options: QueueExecutorOptions = {}): ResolvedQueueOptions {
  return {
    redisUrl: options.redisUrl ?? defaultRedisUrl(),
    prefix: options.prefix ?? DEFAULT_PREFIX,
    defaultQueue: options.defaultQueue ?? 'default',
    lockDurationMs: options.lockDurationMs ?? 30_000,
    maxStepsInFlight: options.maxStepsInFlight,
    queueTimeoutMs: options.queueTimeoutMs ?? 300_000,
    noWorkerGraceMs: options.noWorkerGraceMs ?? 10_000,
    watchIntervalMs: options.watchIntervalMs ?? 1_000,
  };
}
