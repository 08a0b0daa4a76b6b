import { makeEvent } from '@stepwise/core';
import { type EventPublisher, type RedisKeys, recordStall, type StepJobData, stallsOf } from '@stepwise/executor-queue';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { StepStalledError } from './errors/index.js';
import type { LoopLag } from './loop-lag.js';
import type { WorkerMetrics } from './metrics.js';

export interface StallGuardOptions {
  redis: Redis;
  keys: RedisKeys;
  publisher: EventPublisher;
  workerId: string;
  lockDurationMs: number;
  /** Loop-blocked lock losses of one step after which a worker taking its job again fails the step. */
  maxStalls: number;
  loopLag: LoopLag;
  logger: Logger;
  metrics?: WorkerMetrics;
}

/**
 * Tells a job lost to this worker's own blocked event loop (BullMQ could not renew its lock, another worker took
 * it) from other losses, counts such stalls per step in Redis, says so on the run (ENGINE_EVENT `stalled`), and
 * makes the next worker that takes the job fail the step once the count reaches its bound: a CPU-bound step on a
 * worker's loop would otherwise hop from worker to worker for ever, each late success ignored.
 */
export class StallGuard {
  constructor(private readonly options: StallGuardOptions) {}

  /**
   * The error to fail a job's steps with instead of running them: the job came back after stalls (BullMQ's
   * stalledCounter) and its lead lost its lock to a blocked loop `maxStalls` times. Undefined: run it.
   */
  async refusal(data: StepJobData, stalledCounter: number): Promise<StepStalledError | undefined> {
    if (stalledCounter === 0) return undefined;
    const { options } = this;
    const stalls = await stallsOf(options.redis, options.keys, data.runId, data.task.key).catch(() => 0);
    if (stalls < options.maxStalls) return undefined;
    return new StepStalledError(data.task.key, { stalls, lockDurationMs: options.lockDurationMs });
  }

  /**
   * Whether this worker's loop was blocked (computing, not frozen) since `sinceMs` long enough to have lost a lock
   * (BullMQ renews at half the lock duration).
   */
  atRisk(sinceMs: number): boolean {
    return this.options.loopLag.longestSince(sinceMs, true) >= this.options.lockDurationMs / 2;
  }

  /**
   * A step ended after its loop was blocked (see atRisk), its terminal event held back: `owned` when this worker
   * still holds the job's lock (the event goes out); else the loss is a stall, counted and reported on the run,
   * and the answer is `lost` (the event is dropped: BullMQ runs the job again) or, once the count reaches its
   * bound, the error to fail the step with.
   */
  async settle(
    data: StepJobData,
    attempt: number,
    sinceMs: number,
    owns: () => Promise<boolean>,
  ): Promise<'owned' | 'lost' | StepStalledError> {
    const { options } = this;
    if (await owns()) return 'owned';
    const lagMs = options.loopLag.longestSince(sinceMs, true);
    const { runId } = data;
    const stepKey = data.task.key;
    const stalls = await recordStall(options.redis, options.keys, runId, stepKey).catch(() => 1);
    options.metrics?.stalled();
    const failing = stalls >= options.maxStalls;
    const next = failing ? 'so the step fails' : `the step runs again; after ${options.maxStalls} such stalls it fails`;
    const message = `worker ${options.workerId} lost step '${stepKey}' (attempt ${attempt}): its event loop was blocked for ${Math.round(lagMs)} ms, longer than its ${options.lockDurationMs} ms lock allows (stall ${stalls}; ${next}); run CPU-bound ops with --isolation thread or process, or raise --lock-duration`;
    options.logger.warn({ runId, stepKey, attempt, lagMs, stalls }, message);
    const details = {
      worker: options.workerId,
      attempt,
      lagMs: Math.round(lagMs),
      lockDurationMs: options.lockDurationMs,
      stalls,
    };
    options.publisher.publish(
      makeEvent(
        'ENGINE_EVENT',
        runId,
        { kind: 'stalled', details },
        { stepKey, attempt, workerId: options.workerId, message },
      ),
    );
    if (!failing) return 'lost';
    return new StepStalledError(stepKey, { stalls, lockDurationMs: options.lockDurationMs, lagMs });
  }
}
