import type { StepTask } from '@stepwise/core';

/** A step the coordinator dispatched (as a job's lead, or as a member of another step's job) and has not seen end. */
export interface InFlight {
  task: StepTask;
  queue: string;
  jobId: string;
  attempt: number;
  enqueuedAt: number;
  startedAt?: number;
  workerId?: string;
  lastEventAt: number;
  warnedNoWorker?: boolean;
  /** A member of another step's job (its chain or its peers): `jobId` is its lead's job. */
  member?: boolean;
  /**
   * Set once its job is in BullMQ (the add returned): when LostJobs last checked that job. Until then there is
   * nothing to check.
   */
  checkedAt?: number;
  /** Counted in its queue's backlog (see InFlightSteps.backlog). */
  counted?: boolean;
}

/**
 * The steps in flight of one run, by step key, with a count per queue of those enqueued and not yet started: the
 * queue's backlog, which decides whether new steps share jobs. Kept as a count, not a scan, for runs with
 * 10,000 steps in flight.
 */
export class InFlightSteps {
  private readonly byKey = new Map<string, InFlight>();
  private readonly waiting = new Map<string, number>();

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): InFlight | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  values(): IterableIterator<InFlight> {
    return this.byKey.values();
  }

  /**
   * Adds (or replaces) the entry of `entry.task.key`. An enqueued step that has not started counts in its queue's
   * backlog; a member does not (it is counted with its lead's job, and cannot be taken on its own).
   */
  set(entry: InFlight): void {
    this.delete(entry.task.key);
    if (!entry.member && entry.startedAt === undefined) {
      entry.counted = true;
      this.waiting.set(entry.queue, (this.waiting.get(entry.queue) ?? 0) + 1);
    }
    this.byKey.set(entry.task.key, entry);
  }

  /** The step began on a worker. */
  started(entry: InFlight, at: number): void {
    entry.startedAt = at;
    this.uncount(entry);
  }

  delete(key: string): void {
    const entry = this.byKey.get(key);
    if (!entry) return;
    this.uncount(entry);
    this.byKey.delete(key);
  }

  /** The steps in flight grouped by job (a lead and its members share one). */
  byJob(): Map<string, InFlight[]> {
    const jobs = new Map<string, InFlight[]>();
    for (const f of this.byKey.values()) {
      const steps = jobs.get(f.jobId);
      if (steps) steps.push(f);
      else jobs.set(f.jobId, [f]);
    }
    return jobs;
  }

  /** Steps of this run enqueued on `queue` (as leads or members) and not started yet. */
  backlog(queue: string): number {
    return this.waiting.get(queue) ?? 0;
  }

  private uncount(entry: InFlight): void {
    if (!entry.counted) return;
    entry.counted = false;
    this.waiting.set(entry.queue, (this.waiting.get(entry.queue) ?? 1) - 1);
  }
}
