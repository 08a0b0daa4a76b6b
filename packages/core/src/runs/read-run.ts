import { NotFoundError } from '../errors/index.js';
import { COORDINATOR_HEARTBEAT_TIMEOUT_MS } from '../execution/coordinator-lease.js';
import { replayStoredRun } from '../execution/replay-stored-run.js';
import type { RunOutcome } from '../execution/run-driver.js';
import type { StepStatus } from '../execution/step-node.js';
import { type StepResult, stepResults } from '../execution/step-results.js';
import type { Instance } from '../instance/instance.js';
import type { RunRecord } from '../storage/run-storage.js';

/** The stored run `runId`, or a NotFoundError that says where to look. */
export async function requireRun(instance: Instance, runId: string): Promise<RunRecord> {
  await instance.init();
  const run = await instance.storage.getRun(runId);
  if (!run) throw new NotFoundError(`run '${runId}' not found (see: stepwise runs list)`);
  return run;
}

/** A running run whose coordinator stopped its heartbeat: it will not finish unless resumed. */
export function isOrphaned(run: Pick<RunRecord, 'status' | 'updatedAt'>, now = Date.now()): boolean {
  return (
    (run.status === 'STARTED' || run.status === 'CANCELING') && now - run.updatedAt > COORDINATOR_HEARTBEAT_TIMEOUT_MS
  );
}

/** A step of a re-execution that ran in an earlier run: its outputs are read from there. */
export interface ReusedStep {
  key: string;
  /** The run whose outputs it stands for. */
  reusedFrom: string;
}

/** A stored run's steps, rebuilt from its event log. */
export interface StoredRunSteps {
  /** The steps it reuses from an earlier run (a re-execution), in plan order. */
  reused: ReusedStep[];
  /** The steps it runs, in plan order. */
  steps: StepResult<StepStatus>[];
  /** How its log says it ended; undefined while it has not. */
  outcome?: RunOutcome;
}

/** The steps of a stored run, from its event log (what `stepwise runs show` lists). */
export async function readRunSteps(instance: Instance, run: RunRecord): Promise<StoredRunSteps> {
  const view = replayStoredRun(run.plan, run.runId, await instance.storage.getEvents(run.runId));
  const reused = Object.entries(run.plan.reuse).map(([key, reusedFrom]) => ({ key, reusedFrom }));
  const out: StoredRunSteps = { reused, steps: stepResults(view.state, view.errors, view.outcome) };
  if (view.outcome) out.outcome = view.outcome;
  return out;
}
