import type { ApiEvent } from '../api/types.js';

/**
 * The run's events matching the log filters, in seq order, appended in batches. Kept outside component state so
 * a 40,000-event log is not copied on every batch: `version` tells the view to re-render.
 */
export class EventStore {
  readonly events: ApiEvent[] = [];
  private seen = new Set<number>();
  lastSeq = 0;

  /** Appends the events not held yet; returns how many were new. */
  append(batch: readonly ApiEvent[], lastSeq?: number): number {
    let added = 0;
    for (const e of batch) {
      if (this.seen.has(e.seq)) continue;
      this.seen.add(e.seq);
      // Batches arrive in seq order; a late one (after a resume) is put in place.
      const last = this.events[this.events.length - 1];
      if (!last || last.seq < e.seq) this.events.push(e);
      else {
        const at = this.events.findIndex((x) => x.seq > e.seq);
        this.events.splice(at, 0, e);
      }
      added++;
    }
    this.lastSeq = Math.max(this.lastSeq, lastSeq ?? 0, ...batch.map((e) => e.seq));
    return added;
  }
}

/** The text a row shows and the in-app search looks in. */
export function eventText(e: ApiEvent): string {
  switch (e.type) {
    case 'LOG':
      return e.data.msg;
    case 'STEP_FAILURE':
    case 'STEP_UP_FOR_RETRY':
      return `${e.data.error.name}: ${e.data.error.message}`;
    case 'STEP_SKIPPED':
      return e.data.reason;
    case 'STEP_SUCCESS':
      return e.message ?? `succeeded in ${e.data.durationMs} ms`;
    case 'ENGINE_EVENT':
      return e.message ?? e.data.kind;
    default:
      return e.message ?? '';
  }
}
