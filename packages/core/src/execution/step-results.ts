import type { SerializedError } from '../events/events.js';
import type { RunOutcome } from './run-driver.js';
import type { RunState } from './run-state.js';
import { isTerminal, type StepNode, type StepStatus } from './step-node.js';

/** A step's status once its run has ended. */
export type StepResultStatus = 'SUCCESS' | 'FAILURE' | 'SKIPPED' | 'CANCELED' | 'NOT_STARTED';

/** One step of a run: how it ended (or, for a run still going, where it is). */
export interface StepResult<Status extends StepStatus = StepResultStatus> {
  key: string;
  status: Status;
  /** Attempts made (0 when the step never started). */
  attempts: number;
  mappingKey?: string;
  workerId?: string;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  /** The error of its latest failed attempt, unless it succeeded. */
  error?: SerializedError;
  skipReason?: string;
}

/**
 * A step's status for display: its own when terminal; for a run still going, where it is now; for an ended run, a
 * step that never ended was stopped: NOT_STARTED when it never left the queue of ready steps, CANCELED otherwise.
 */
export function displayStatus(status: StepStatus, outcome: RunOutcome | undefined): StepStatus {
  if (isTerminal(status) || outcome === undefined) return status;
  return status === 'PENDING' || status === 'READY' ? 'NOT_STARTED' : 'CANCELED';
}

/**
 * The steps of a run, in plan order (a mapped step's copies after its template's place, in the order they were
 * made): what `RunResult.steps` and `stepwise runs show` report, for a live run's state or one replayed from
 * storage. `errors` holds each step's latest failure (STEP_FAILURE or STEP_UP_FOR_RETRY).
 */
export function stepResults(
  state: RunState,
  errors: ReadonlyMap<string, SerializedError>,
  outcome: RunOutcome,
): StepResult[];
export function stepResults(
  state: RunState,
  errors: ReadonlyMap<string, SerializedError>,
  outcome: RunOutcome | undefined,
): StepResult<StepStatus>[];
export function stepResults(
  state: RunState,
  errors: ReadonlyMap<string, SerializedError>,
  outcome: RunOutcome | undefined,
): StepResult<StepStatus>[] {
  const order = new Map(state.plan.steps.map((s, i) => [s.key, i]));
  const place = (node: StepNode) => order.get(node.plan.key) ?? 0;
  const nodes = [...state.steps.values()].sort((a, b) => place(a) - place(b));
  return nodes.map((node) => {
    const status = displayStatus(node.status, outcome);
    const started = node.startedAt !== undefined;
    const result: StepResult<StepStatus> = { key: node.key, status, attempts: started ? node.attempt : 0 };
    if (node.mappingKey !== undefined) result.mappingKey = node.mappingKey;
    if (node.workerId !== undefined) result.workerId = node.workerId;
    if (node.startedAt !== undefined) {
      result.startedAt = node.startedAt;
      if (node.endedAt !== undefined) {
        result.endedAt = node.endedAt;
        result.durationMs = node.endedAt - node.startedAt;
      }
    }
    const error = errors.get(node.key);
    if (error && status !== 'SUCCESS') result.error = error;
    if (node.skipReason !== undefined && status === 'SKIPPED') result.skipReason = node.skipReason;
    return result;
  });
}
