import {
  type RunOutcome,
  type RunRecord,
  type RunState,
  replayStoredRun,
  type SerializedError,
  type StoredEvent,
  stepResults,
} from '@stepwise/core';
import type { StepRow } from '../api-types.js';
import { AttemptSegments } from '../views/attempts.js';
import { StepRowBuilder } from '../views/run-detail.js';

const ENDS: Partial<Record<StoredEvent['type'], RunOutcome>> = {
  RUN_SUCCESS: 'SUCCESS',
  RUN_FAILURE: 'FAILURE',
  RUN_CANCELED: 'CANCELED',
};

/**
 * A run's step rows kept up to date by applying its new events to one RunState (the library's own rules), so a
 * live stream sends the rows a batch changed without replaying the whole log each time.
 */
export class StepsTracker {
  private readonly state: RunState;
  private readonly errors: Map<string, SerializedError>;
  private outcome: RunOutcome | undefined;
  private readonly segments = new AttemptSegments();
  private readonly builder: StepRowBuilder;

  constructor(run: RunRecord, history: readonly StoredEvent[], medians: ReadonlyMap<string, number>) {
    const view = replayStoredRun(run.plan, run.runId, history);
    this.state = view.state;
    this.errors = view.errors;
    this.outcome = view.outcome;
    this.segments.add(history);
    this.builder = new StepRowBuilder(run, this.segments, medians);
  }

  /** Every row, in plan order (reused steps first, as `runs show`). */
  allRows(): StepRow[] {
    return [
      ...this.builder.reusedRows(),
      ...stepResults(this.state, this.errors, this.outcome).map((r) => this.builder.row(r)),
    ];
  }

  useMedians(medians: ReadonlyMap<string, number>): void {
    this.builder.medians = medians;
  }

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /** Applies new events; returns the rows of the steps they touched (a new mapped copy included). */
  apply(events: readonly StoredEvent[]): StepRow[] {
    const touched = this.segments.add(events);
    for (const e of events) {
      this.state.apply(e);
      if (e.stepKey !== undefined) touched.add(e.stepKey);
      if ((e.type === 'STEP_FAILURE' || e.type === 'STEP_UP_FOR_RETRY') && e.stepKey !== undefined) {
        this.errors.set(e.stepKey, e.data.error);
      }
      const end = ENDS[e.type];
      if (end) this.outcome = end;
    }
    if (touched.size === 0 && !events.some((e) => ENDS[e.type])) return [];
    const all = stepResults(this.state, this.errors, this.outcome);
    // The run's end changes how unfinished steps display (NOT_STARTED, CANCELED): send every row then.
    const rows = events.some((e) => ENDS[e.type]) ? all : all.filter((r) => touched.has(r.key));
    return rows.map((r) => this.builder.row(r));
  }
}
