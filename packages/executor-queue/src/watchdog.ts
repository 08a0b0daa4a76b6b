import { type SerializedError, serializeError } from '@stepwise/core';
import type { Logger } from 'pino';
import type { Dispatcher } from './dispatch.js';
import { QueueTimeoutError } from './errors/index.js';
import type { InFlight, InFlightSteps } from './in-flight.js';
import type { LostJobs } from './lost-jobs.js';
import type { ResolvedQueueOptions } from './options.js';
import type { WorkerSlots } from './worker-slots.js';

export interface WatchdogDeps {
  inFlight: InFlightSteps;
  options: Pick<ResolvedQueueOptions, 'lockDurationMs' | 'noWorkerGraceMs' | 'queueTimeoutMs' | 'watchIntervalMs'>;
  dispatcher: Dispatcher;
  slots: WorkerSlots;
  now: () => number;
  logger: Logger;
  /** Finds the steps whose job is gone (checked first: a lost step is not also timed out). */
  lostJobs: Pick<LostJobs, 'check'>;
  /** Ends a step the run gives up on with a STEP_FAILURE. */
  failStep: (stepKey: string, attempt: number, error: SerializedError, message: string) => void;
  engineEvent: (kind: string, message: string, details: Record<string, unknown>, stepKey: string) => void;
}

/**
 * Checks a run's steps in flight every `watchIntervalMs` for what no event will report: a step whose job is gone
 * (LostJobs: lost, or a member to relaunch), a step waiting in a queue no worker serves (a warning) or waiting past
 * `queueTimeoutMs` (a failure).
 */
export class Watchdog {
  private timer?: NodeJS.Timeout;
  private checking = false;

  constructor(private readonly deps: WatchdogDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      void this.check().catch((error) =>
        this.deps.logger.warn({ err: (error as Error).message }, 'queue watchdog check failed'),
      );
    }, this.deps.options.watchIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round of checks (none while the previous one runs). */
  async check(): Promise<void> {
    if (this.checking || this.deps.inFlight.size === 0) return;
    this.checking = true;
    try {
      const now = this.deps.now();
      if (this.deps.slots.stale) await this.deps.slots.refresh();
      await this.deps.lostJobs.check(now);
      await this.waitingInQueue(now);
    } finally {
      this.checking = false;
    }
  }

  /** Steps in their own job that no worker took: warn when no live worker serves the queue, fail on timeout. */
  private async waitingInQueue(now: number): Promise<void> {
    const { inFlight, options, dispatcher } = this.deps;
    const waiting = [...inFlight.values()].filter((f) => !f.member && f.startedAt === undefined && now > f.enqueuedAt);
    if (waiting.length === 0) return;
    const live = await this.deps.slots.refresh();
    const served = new Set(live.flatMap((w) => (w.draining ? [] : w.queues)));
    for (const f of waiting) {
      const waited = now - f.enqueuedAt;
      if (!f.warnedNoWorker && !served.has(f.queue) && waited >= options.noWorkerGraceMs) {
        f.warnedNoWorker = true;
        this.deps.engineEvent(
          'no_worker',
          `step '${f.task.key}' is waiting in queue '${f.queue}', which no live worker serves; start one with: stepwise worker -f FILE --queue ${f.queue}`,
          { queue: f.queue, waitedMs: waited },
          f.task.key,
        );
      }
      if (options.queueTimeoutMs > 0 && waited >= options.queueTimeoutMs && inFlight.get(f.task.key) === f) {
        const removed = await dispatcher.remove(f.queue, f.jobId);
        if (removed === 0 && inFlight.get(f.task.key)?.startedAt !== undefined) continue;
        // The members of the removed job time out with their lead.
        for (const g of removed === 1 ? this.stepsOfJob(f.jobId) : [f]) {
          const error = new QueueTimeoutError(g.task.key, g.queue, waited, options.queueTimeoutMs);
          this.deps.failStep(g.task.key, g.attempt, serializeError(error), error.message);
        }
      }
    }
  }

  /** Steps in flight whose job is `jobId`: its lead and its members. */
  private stepsOfJob(jobId: string): InFlight[] {
    return [...this.deps.inFlight.values()].filter((f) => f.jobId === jobId);
  }
}
