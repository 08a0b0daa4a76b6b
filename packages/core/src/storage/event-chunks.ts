import type { StepwiseEvent, StoredEvent } from '../events/events.js';
import type { EventFilter } from './run-storage.js';

/**
 * SQL storages keep a run's event log as chunks: one row per appended batch of a run, holding the batch's events
 * as a JSON array and the seq range they take (`firstSeq`..`firstSeq + n - 1`). Appending 1,000 events is then one
 * row and one JSON.stringify instead of 1,000 rows and their index entries, which is what storage cost per event
 * (Temporal keeps workflow history in batches for the same reason). Reads split chunks back into events.
 */
export interface EventChunk {
  runId: string;
  firstSeq: number;
  lastSeq: number;
  /** JSON array of the chunk's events, in seq order. */
  events: string;
}

/** A batch's events grouped by run, each group in append order (a Map keeps the runs in first-seen order). */
export function groupByRun(events: readonly StepwiseEvent[]): Map<string, StepwiseEvent[]> {
  const byRun = new Map<string, StepwiseEvent[]>();
  for (const event of events) {
    const group = byRun.get(event.runId);
    if (group) group.push(event);
    else byRun.set(event.runId, [event]);
  }
  return byRun;
}

/** The chunk row for `events` of one run, whose first event gets `firstSeq`. */
export function encodeChunk(runId: string, firstSeq: number, events: readonly StepwiseEvent[]): EventChunk {
  return { runId, firstSeq, lastSeq: firstSeq + events.length - 1, events: JSON.stringify(events) };
}

/**
 * Collects the events of chunks (read in seq order) that pass `filter`, up to its limit.
 * Returns true once the limit is reached, so a caller reading chunks page by page can stop.
 */
export function collectChunk(firstSeq: number, json: string, filter: EventFilter, out: StoredEvent[]): boolean {
  const after = filter.afterSeq ?? 0;
  const limit = filter.limit ?? Number.POSITIVE_INFINITY;
  const types = filter.types;
  const events = JSON.parse(json) as Array<StepwiseEvent & { seq?: number }>;
  for (let i = 0; i < events.length; i++) {
    if (out.length >= limit) return true;
    const seq = firstSeq + i;
    if (seq <= after) continue;
    const event = events[i] as StepwiseEvent & { seq?: number };
    if (filter.stepKey !== undefined && event.stepKey !== filter.stepKey) continue;
    if (types && !types.includes(event.type)) continue;
    // A freshly parsed object: setting seq on it is cheaper than a copy.
    event.seq = seq;
    out.push(event as StoredEvent);
  }
  return out.length >= limit;
}
