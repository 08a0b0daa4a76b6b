import { z } from 'zod';
import { DEFAULT_PREFIX } from './keys.js';
import { defaultRedisUrl } from './redis-connection.js';

const positiveInt = z.number().int().positive('must be greater than 0');
const name = z.string().min(1, 'must not be empty');

/**
 * The queue executor's options: `execution.queue` in a run config, defaults for it under `execution.queue` in
 * stepwise.yaml, and `new QueueExecutor(options)`. Defined here only; core derives both config blocks from it.
 */
export const queueExecutorOptions = z.strictObject({
  /**
   * Redis the coordinator and workers share. Default `$REDIS_URL`, else redis://127.0.0.1:6379. Use one with
   * `maxmemory-policy noeviction`: an evicted job or stream entry is a lost step.
   */
  redisUrl: name.optional(),
  /**
   * Prefix of every key, queue and stream. Default `stepwise`. Workers must use the same one; separate prefixes
   * keep deployments sharing one Redis apart.
   */
  prefix: name.optional(),
  /** Queue of steps whose op has no `queue` tag. Default `default`. */
  defaultQueue: name.optional(),
  /**
   * Lock a worker holds on a step; a worker silent this long is presumed lost and its step re-run. Default 30,000.
   * Shorter re-runs a killed worker's steps sooner, but a worker stalled longer (a long GC pause, a blocked event
   * loop) has its step run twice.
   */
  lockDurationMs: positiveInt.optional(),
  /**
   * Steps of the run queued or running at once. Default: 32 per worker slot serving the run's queues (from the
   * worker registry, re-read every 2 s), at least 1,000. Each step in flight costs the coordinator memory (about
   * half a kilobyte), so a backlog far beyond what the workers can take only costs.
   */
  maxStepsInFlight: positiveInt.optional(),
  /**
   * Fail a step still waiting in its queue after this long (no worker took it); 0 waits forever.
   * Default 300,000 (5 minutes). Shorter fails fast when no worker serves a queue, but fails steps that only
   * waited behind a long backlog.
   */
  queueTimeoutMs: z.number().int().min(0, 'must be 0 (wait forever) or more').optional(),
  /**
   * Warn (ENGINE_EVENT) when a queued step's queue has had no live worker for this long. Default 10,000.
   * A warning only: the step still waits for `queueTimeoutMs`.
   */
  noWorkerGraceMs: z.number().int().min(0, 'must be 0 or more').optional(),
  /**
   * How often in-flight steps are checked for a queue timeout or a lost job. Default 1,000. Shorter notices a lost
   * job sooner at the cost of a Redis round trip per check.
   */
  watchIntervalMs: positiveInt.optional(),
});

/** Options of the queue executor; each is documented on {@link queueExecutorOptions}. */
export type QueueExecutorOptions = z.input<typeof queueExecutorOptions>;

/** The defaults of the options above that do not depend on the environment (`redisUrl` reads `$REDIS_URL`). */
export const QUEUE_DEFAULTS = {
  prefix: DEFAULT_PREFIX,
  defaultQueue: 'default',
  lockDurationMs: 30_000,
  queueTimeoutMs: 300_000,
  noWorkerGraceMs: 10_000,
  watchIntervalMs: 1_000,
} as const satisfies QueueExecutorOptions;

export type ResolvedQueueOptions = Required<Omit<QueueExecutorOptions, 'maxStepsInFlight'>> &
  Pick<QueueExecutorOptions, 'maxStepsInFlight'>;

/** In-flight steps per live worker slot when maxStepsInFlight is not set: two full bundles each. */
export const IN_FLIGHT_PER_SLOT = 32;
/** Least in-flight steps when maxStepsInFlight is not set (workers not registered yet count as none). */
export const MIN_IN_FLIGHT = 1_000;

export function resolveQueueOptions(options: QueueExecutorOptions = {}): ResolvedQueueOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...QUEUE_DEFAULTS, redisUrl: defaultRedisUrl(), ...given };
}
