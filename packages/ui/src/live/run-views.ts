import type { RunRecord, RunStorage } from '@stepwise/core';
import type { StepRow } from '../api-types.js';
import { StepsTracker } from './steps-tracker.js';

interface Entry {
  tracker: StepsTracker;
  lastSeq: number;
}

/**
 * The replayed steps of recently viewed runs, kept up to date by applying only the events appended since: a run
 * page's detail, graph and waiting calls, polled by many tabs, replay a 50,000-event log once, not per call.
 */
export class RunViews {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly storage: RunStorage,
    private readonly max = 8,
  ) {}

  /** The run's rows as of now, and the seq of its last event. */
  async of(
    run: RunRecord,
    medians: ReadonlyMap<string, number>,
  ): Promise<{ rows: StepRow[]; finished: boolean; lastSeq: number }> {
    let entry = this.entries.get(run.runId);
    if (entry) {
      this.entries.delete(run.runId);
      const fresh = await this.storage.getEvents(run.runId, { afterSeq: entry.lastSeq });
      entry.tracker.apply(fresh);
      entry.lastSeq = fresh.at(-1)?.seq ?? entry.lastSeq;
    } else {
      const events = await this.storage.getEvents(run.runId);
      entry = { tracker: new StepsTracker(run, events, medians), lastSeq: events.at(-1)?.seq ?? 0 };
    }
    entry.tracker.useMedians(medians);
    // Most recently used last: the first key is the one to drop.
    this.entries.set(run.runId, entry);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
    return { rows: entry.tracker.allRows(), finished: entry.tracker.finished, lastSeq: entry.lastSeq };
  }
}
