import type { SerializedError, StepwiseEvent } from '../events/events.js';
import type { ExecutionPlan } from '../plan/plan.js';
import type { RunOutcome } from './run-driver.js';
import { RunState } from './run-state.js';

/** A stored run's state, rebuilt from its event log. */
export interface StoredRunView {
  state: RunState;
  /** The run's end as its log records it (RUN_SUCCESS / RUN_FAILURE / RUN_CANCELED); undefined: not finished. */
  outcome?: RunOutcome;
  /** The error of each step's latest failed attempt (STEP_FAILURE, or the last STEP_UP_FOR_RETRY). */
  errors: Map<string, SerializedError>;
}

const ENDS: Partial<Record<StepwiseEvent['type'], RunOutcome>> = {
  RUN_SUCCESS: 'SUCCESS',
  RUN_FAILURE: 'FAILURE',
  RUN_CANCELED: 'CANCELED',
};

/** ENGINE_EVENT kind that `stepwise execute-step` records before it runs a step that ran before, as a new attempt. */
export const STEP_REEXECUTED = 'step_reexecuted';

/**
 * Replays a stored event log into a fresh RunState, with the live coordinator's rules: a step's first end
 * stands, and a later attempt of an ended step (a job re-run after a worker was presumed lost, which may start
 * steps that had already succeeded) changes nothing. The exception is a step `stepwise execute-step` ran again:
 * its events from before that re-execution are skipped, so the newest outcome counts and the steps downstream of
 * it become ready.
 */
export function replayStoredRun(plan: ExecutionPlan, runId: string, events: readonly StepwiseEvent[]): StoredRunView {
  const reexecutedAt = new Map<string, number>();
  for (const e of events) {
    if (e.type !== 'ENGINE_EVENT' || e.data.kind !== STEP_REEXECUTED || e.stepKey === undefined) continue;
    const attempt = e.attempt ?? 1;
    if (attempt > (reexecutedAt.get(e.stepKey) ?? 0)) reexecutedAt.set(e.stepKey, attempt);
  }
  const state = new RunState(plan, runId);
  const errors = new Map<string, SerializedError>();
  let outcome: RunOutcome | undefined;
  for (const e of events) {
    if (e.stepKey !== undefined && (e.attempt ?? 1) < (reexecutedAt.get(e.stepKey) ?? 0)) continue;
    state.apply(e);
    if (e.type === 'STEP_FAILURE' || e.type === 'STEP_UP_FOR_RETRY') {
      if (e.stepKey !== undefined) errors.set(e.stepKey, e.data.error);
    }
    const end = ENDS[e.type];
    if (end) outcome = end;
  }
  const view: StoredRunView = { state, errors };
  if (outcome) view.outcome = outcome;
  return view;
}
