import { type SerializedError, serializeError } from '@stepwise/core';
import type { Logger } from 'pino';
import type { Dispatcher } from './dispatch.js';
import { QueueTimeoutError, StepLostError } from './errors/index.js';
import type { InFlight, InFlightSteps } from './in-flight.js';
import type { ResolvedQueueOptions } from './options.js';
import type { WorkerSlots } from './worker-slots.js';

export interface WatchdogDeps {
  inFlight: InFlightSteps;
  options: Pick<ResolvedQueueOptions, 'lockDurationMs' | 'noWorkerGraceMs' | 'queueTimeoutMs' | 'watchIntervalMs'>;
  dispatcher: Dispatcher;
  slots: WorkerSlots;
  now: () => number;
  logger: Logger;
  /** A member whose lead's job ended without running it: dispatch it in a job of its own. */
  relaunch: (entry: InFlight) => void;
  /** Ends a step the run gives up on with a STEP_FAILURE. */
  failStep: (stepKey: string, attempt: number, error: SerializedError, message: string) => void;
  engineEvent: (kind: string, message: string, details: Record<string, unknown>, stepKey: string) => void;
}

/**
 * Checks a run's steps in flight every `watchIntervalMs` for what no event will report: a member whose lead's job
 * ended without running it, a step waiting in a queue no worker serves (a warning) or waiting past
 * `queueTimeoutMs` (a failure), and a started step silent for long whose job is gone (lost).
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
      await this.membersOfEndedJobs(now);
      await this.waitingInQueue(now);
      await this.vanishedJobs(now);
      await this.silentSteps(now);
    } finally {
      this.checking = false;
    }
  }

  /** Members not started long after their job was added: if that job ended without them, they go on their own. */
  private async membersOfEndedJobs(now: number): Promise<void> {
    const { inFlight, options, dispatcher } = this.deps;
    // One state read per lead job, however many members it has.
    const states = new Map<string, Promise<{ there: boolean }>>();
    for (const f of [...inFlight.values()]) {
      if (!f.member || f.startedAt !== undefined || now - f.enqueuedAt < options.lockDurationMs * 3) continue;
      let state = states.get(f.jobId);
      if (!state) {
        state = dispatcher.stillThere(f.queue, f.jobId);
        states.set(f.jobId, state);
      }
      if ((await state).there) {
        f.enqueuedAt = now;
        continue;
      }
      if (inFlight.get(f.task.key) === f) this.deps.relaunch(f);
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

  /**
   * A step waiting in its own job that is not in Redis at all (Redis lost its data: FLUSHDB, a restart without
   * persistence): no worker will ever take it, so it is lost now rather than at the queue timeout. Checked once per
   * `lockDurationMs * 3` of waiting; `lastEventAt` of a step not started yet marks the last check.
   */
  private async vanishedJobs(now: number): Promise<void> {
    const { inFlight, options, dispatcher } = this.deps;
    const every = options.lockDurationMs * 3;
    for (const f of [...inFlight.values()]) {
      if (f.member || f.startedAt !== undefined || now - f.lastEventAt < every) continue;
      const { state } = await dispatcher.stillThere(f.queue, f.jobId);
      // Only a job Redis has never heard of: a completed one's events may still be on their way.
      if (state !== 'unknown') {
        f.lastEventAt = now;
        continue;
      }
      if (inFlight.get(f.task.key) !== f || f.startedAt !== undefined) continue;
      const error = new StepLostError(f.task.key, state);
      this.deps.engineEvent('step_lost', error.message, { jobId: f.jobId, jobState: state }, f.task.key);
      this.deps.failStep(f.task.key, f.attempt, serializeError(error), error.message);
    }
  }

  /**
   * A started step silent for long: BullMQ re-queues stalled jobs itself; a job that vanished (Redis lost its data)
   * or that BullMQ failed would otherwise leave the run waiting forever.
   */
  private async silentSteps(now: number): Promise<void> {
    const { inFlight, options, dispatcher } = this.deps;
    const silentFor = options.lockDurationMs * 3;
    for (const f of [...inFlight.values()]) {
      if (f.startedAt === undefined || now - f.lastEventAt < silentFor) continue;
      const { there, state } = await dispatcher.stillThere(f.queue, f.jobId);
      if (there) {
        f.lastEventAt = now;
        continue;
      }
      if (inFlight.get(f.task.key) !== f) continue;
      const error = new StepLostError(f.task.key, state);
      this.deps.engineEvent('step_lost', error.message, { jobId: f.jobId, jobState: state }, f.task.key);
      this.deps.failStep(f.task.key, f.attempt, serializeError(error), error.message);
    }
  }

  /** Steps in flight whose job is `jobId`: its lead and its members. */
  private stepsOfJob(jobId: string): InFlight[] {
    return [...this.deps.inFlight.values()].filter((f) => f.jobId === jobId);
  }
}
