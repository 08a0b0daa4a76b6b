import type { StepTask } from '@stepwise/core';

/** A step the coordinator dispatched (or expects to run inside another step's job) and has not seen end. */
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
  /** Runs as part of another step's job (a chain or a bundle): `jobId` is that job's. */
  fused?: boolean;
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
   * backlog; a step expected inside another step's chain does not (it cannot be taken before its carrier ends).
   */
  set(entry: InFlight): void {
    this.delete(entry.task.key);
    if (!entry.fused && entry.startedAt === undefined) {
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

  /** Steps of this run enqueued on `queue` (alone or in a bundle) and not started yet. */
  backlog(queue: string): number {
    return this.waiting.get(queue) ?? 0;
  }

  private uncount(entry: InFlight): void {
    if (!entry.counted) return;
    entry.counted = false;
    this.waiting.set(entry.queue, (this.waiting.get(entry.queue) ?? 1) - 1);
  }
}
