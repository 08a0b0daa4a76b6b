import { type RunStatus, type RunStorage, runJson, type StoredEvent } from '@stepwise/core';
import type { RunSummary } from '../api-types.js';
import { type EventQuery, readEvents } from '../views/event-filter.js';

/** Most events one live batch carries; a backlog drains over the next batches. */
const BATCH = 2_000;

/**
 * A cursor over one run's stored events: each `next()` returns what was appended since (after the filters),
 * never an event twice. The UI is not the process running steps: storage is the only source, read by seq.
 */
export class RunTail {
  private status?: RunStatus;

  constructor(
    private readonly storage: RunStorage,
    readonly runId: string,
    private cursor: number,
    private readonly query: EventQuery,
  ) {}

  get lastSeq(): number {
    return this.cursor;
  }

  /** New matching events, and whether the cursor moved (filtered-out events move it too). */
  async next(): Promise<{ events: StoredEvent[]; moved: boolean }> {
    const before = this.cursor;
    const page = await readEvents(this.storage, this.runId, this.cursor, BATCH, this.query);
    this.cursor = Math.max(this.cursor, page.lastSeq);
    return { events: page.events, moved: this.cursor !== before };
  }

  /** The run's summary when its status changed since the last call (the first call reports it), else undefined. */
  async statusChange(now: number): Promise<RunSummary | undefined> {
    const head = await this.storage.getRunStatus(this.runId);
    if (!head || head.status === this.status) return undefined;
    const run = await this.storage.getRun(this.runId);
    if (!run) return undefined;
    this.status = run.status;
    return runJson(run, now);
  }
}
