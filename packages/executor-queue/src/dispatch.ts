import type { StepTask } from '@stepwise/core';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { encodeJobData, parseJobData, type StepJobData } from './wire.js';

/** BullMQ forbids ':' in queue names; we also keep them printable. */
const QUEUE_NAME = /^[A-Za-z0-9_.-]+$/;

/** A queue name BullMQ (and `stepwise worker --queue`) accepts. */
export function isQueueName(name: string): boolean {
  return QUEUE_NAME.test(name);
}

/** The id of a step attempt's job: dedupes a re-dispatch of the same attempt (e.g. after coordinator recovery). */
export function jobIdOf(runId: string, stepKey: string, attempt: number): string {
  return `${runId}|${stepKey}|${attempt}`;
}

/** BullMQ priority from the `priority` tag: higher tag values run first; no tag, no priority (the fast path). */
function priorityOf(tags: Record<string, string>): number | undefined {
  const raw = tags.priority;
  if (raw === undefined) return undefined;
  const n = Number.parseInt(raw, 10);
  if (!Number.isFinite(n)) return undefined;
  return Math.min(2_097_152, Math.max(1, 1_000_000 - n));
}

/** A step job to add: its bundle (see StepJobData) and how long BullMQ holds it back. */
export interface PendingJob {
  queue: string;
  data: StepJobData;
  delayMs: number;
}

/** BullMQ's name, payload and options for a step job: the one place both the coordinator and workers make them. */
export function stepJob(
  data: StepJobData,
  delayMs = 0,
): { name: string; data: ReturnType<typeof encodeJobData>; opts: JobsOptions } {
  return {
    name: data.task.op,
    data: encodeJobData(data),
    opts: {
      jobId: jobIdOf(data.runId, data.task.key, data.attempt),
      delay: delayMs > 0 ? delayMs : undefined,
      priority: priorityOf(data.task.tags),
      removeOnComplete: true,
      removeOnFail: true,
      // A failed step is retried by the coordinator as a new attempt (a new job), never by BullMQ.
      attempts: 1,
    },
  };
}

/** Adds step jobs to `queue`: one job with add (faster than addBulk's MULTI), several with one addBulk. */
export async function addStepJobs(queue: Queue, items: ReadonlyArray<Omit<PendingJob, 'queue'>>): Promise<void> {
  const jobs = items.map(({ data, delayMs }) => stepJob(data, delayMs));
  const [only] = jobs;
  if (jobs.length === 1 && only) await queue.add(only.name, only.data, only.opts);
  else if (jobs.length > 0) await queue.addBulk(jobs);
}

/** Job states (and a failed read) in which a job may still run its steps: the watchdog keeps waiting. */
const JOB_STILL_THERE: ReadonlySet<string> = new Set(['active', 'waiting', 'delayed', 'prioritized', 'error']);

export interface DispatchOptions {
  /** A connection of the dispatcher's own (BullMQ loads its scripts on it). */
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** Turns one queue's jobs of a flush into the jobs to add (bundling): see bundle-policy.ts. */
  bundle: (queue: string, jobs: PendingJob[]) => PendingJob[];
  /** The jobs could not be added: their steps end. */
  onAddFailed: (jobs: PendingJob[], error: unknown) => void;
  /** Jobs added to BullMQ, for QueueExecutor.stats. */
  onAdded?: (count: number) => void;
  /** The jobs are in BullMQ (their add returned). */
  onQueued?: (jobs: PendingJob[]) => void;
  /**
   * Asked before each flush: false drops its jobs (a newer coordinator has the run: see claim-epoch.lua). Rejects:
   * the jobs could not be added.
   */
  admit?: () => Promise<boolean>;
}

/**
 * Adds a run's step jobs to their BullMQ queues: jobs submitted in one tick are added in one flush, with one
 * addBulk per queue. Also the run's reads of its jobs (state, removal, what is waiting).
 */
export class Dispatcher {
  private readonly queues = new Map<string, Queue>();
  private pending: PendingJob[] = [];
  private readonly flushes = new Set<Promise<void>>();

  constructor(private readonly options: DispatchOptions) {}

  /** The queue handle of `name`, made once. */
  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.options.connection, prefix: this.options.prefix });
      q.on('error', (error) => this.options.logger.warn({ err: error.message, queue: name }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  /** Readies the queues (BullMQ loads its scripts on the connection) before the first flush needs them. */
  async ready(names: Iterable<string>): Promise<void> {
    await Promise.all(
      [...names].filter(isQueueName).map((name) =>
        this.queue(name)
          .waitUntilReady()
          .catch(() => {}),
      ),
    );
  }

  /** Queues a job for this tick's flush. */
  submit(job: PendingJob): void {
    if (this.pending.length === 0) queueMicrotask(() => this.flush());
    this.pending.push(job);
  }

  /** Resolves once every flush started so far has ended. */
  async flushing(): Promise<void> {
    await Promise.all([...this.flushes]);
  }

  private flush(): void {
    const all = this.pending;
    this.pending = [];
    const byQueue = new Map<string, PendingJob[]>();
    for (const job of all) {
      const list = byQueue.get(job.queue);
      if (list) list.push(job);
      else byQueue.set(job.queue, [job]);
    }
    const admitted = this.options.admit?.() ?? Promise.resolve(true);
    const flushed = Promise.all(
      [...byQueue].map(async ([name, jobs]) => {
        const bundles = this.options.bundle(name, jobs);
        try {
          if (!(await admitted)) return;
          this.options.onAdded?.(bundles.length);
          await addStepJobs(this.queue(name), bundles);
          this.options.onQueued?.(bundles);
        } catch (error) {
          this.options.onAddFailed(bundles, error);
        }
      }),
    ).then(() => {});
    // Flushes overlap: a big first flush must not hold back the chain steps that become ready meanwhile.
    this.flushes.add(flushed);
    void flushed.finally(() => this.flushes.delete(flushed));
  }

  /** The Redis key of a job's hash (what watch-run.lua checks). */
  jobKey(queue: string, jobId: string): string {
    return this.queue(queue).toKey(jobId);
  }

  /** Whether the job may still run its steps (BullMQ has it, or its state could not be read). */
  async stillThere(queue: string, jobId: string): Promise<{ there: boolean; state: string }> {
    const state = await this.queue(queue)
      .getJobState(jobId)
      .catch(() => 'error');
    return { there: JOB_STILL_THERE.has(state), state };
  }

  /** Removes a job that no worker took; resolves 1 if removed, 0 if not (taken, gone, or Redis unreachable). */
  remove(queue: string, jobId: string): Promise<number> {
    return this.queue(queue)
      .remove(jobId)
      .catch(() => 0);
  }

  /**
   * The members of `runId`'s jobs not ended yet on the queue `name`, with their lead's job id: a resumed run
   * watches them through those jobs instead of enqueueing them a second time.
   */
  async unfinishedMembers(name: string, runId: string): Promise<Array<{ task: StepTask; jobId: string }>> {
    if (!isQueueName(name)) return [];
    const jobs = await this.queue(name).getJobs(['waiting', 'active', 'prioritized', 'delayed']);
    const members: Array<{ task: StepTask; jobId: string }> = [];
    for (const job of jobs) {
      if (!job?.id || (job.data as { runId?: unknown } | undefined)?.runId !== runId) continue;
      let data: StepJobData;
      try {
        // Read back from Redis: trust only the shape this coordinator writes.
        data = parseJobData(job.data);
      } catch {
        continue;
      }
      for (const task of [...(data.chain ?? []), ...(data.peers ?? [])]) members.push({ task, jobId: job.id });
    }
    return members;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
  }
}
