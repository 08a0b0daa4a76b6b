import type { StoredEvent } from '@stepwise/core';
import type { AttemptSegment } from '../api-types.js';

const ENDS: Partial<Record<StoredEvent['type'], AttemptSegment['outcome']>> = {
  STEP_SUCCESS: 'SUCCESS',
  STEP_FAILURE: 'FAILURE',
  STEP_UP_FOR_RETRY: 'UP_FOR_RETRY',
  STEP_RESTARTED: 'RESTARTED',
  STEP_SKIPPED: 'SKIPPED',
};

/** Each step's attempts as Gantt segments (worker, start, end, outcome), in one pass over the run's events. */
export class AttemptSegments {
  private readonly byStep = new Map<string, AttemptSegment[]>();

  add(events: readonly StoredEvent[]): Set<string> {
    const touched = new Set<string>();
    for (const e of events) {
      if (e.stepKey === undefined) continue;
      const attempt = e.attempt ?? 1;
      if (e.type === 'STEP_START') {
        const list = this.byStep.get(e.stepKey) ?? [];
        const segment: AttemptSegment = { attempt, startedAt: e.timestamp };
        if (e.workerId !== undefined) segment.workerId = e.workerId;
        list.push(segment);
        this.byStep.set(e.stepKey, list);
        touched.add(e.stepKey);
        continue;
      }
      const outcome = ENDS[e.type];
      if (!outcome) continue;
      // STEP_RESTARTED closes the attempt it replaces (the previous one); the others close their own.
      const closes = e.type === 'STEP_RESTARTED' ? e.data.previousAttempt : attempt;
      const open = this.byStep.get(e.stepKey)?.findLast((s) => s.attempt === closes && s.endedAt === undefined);
      if (!open) continue;
      open.endedAt = e.timestamp;
      open.outcome = outcome;
      if (open.workerId === undefined && e.workerId !== undefined) open.workerId = e.workerId;
      touched.add(e.stepKey);
    }
    return touched;
  }

  of(stepKey: string): AttemptSegment[] {
    return this.byStep.get(stepKey)?.map((s) => ({ ...s })) ?? [];
  }
}
