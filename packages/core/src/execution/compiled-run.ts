import { createHash } from 'node:crypto';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { UsageError } from '../errors/index.js';
import { makeEvent } from '../events/events.js';
import type { Instance } from '../instance/instance.js';
import { type CompiledPlan, canonicalJson } from '../plan/compiled-plan.js';
import type { RunRecord } from '../storage/run-storage.js';
import { TERMINAL_RUN_STATUSES } from '../storage/run-storage.js';
import { replayStoredRun } from './replay-stored-run.js';
import type { RunOutcome } from './run-driver.js';

// Not starting with a dot: `..` would be a path segment of its own in the fs IO manager's directories.
const SAFE_RUN_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;

/**
 * A run id safe for file paths and Redis keys (`[A-Za-z0-9_.-]`, no leading dot, at most 209 characters): the id itself when it
 * is, else its other characters replaced by `_` and a short hash of the original appended, so that two ids that
 * differ only there (Airflow's `…T10:00:00+00:00` and `…T10_00_00_00_00`) stay apart.
 */
export function safeRunId(id: string): string {
  if (SAFE_RUN_ID.test(id)) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
  return `${id
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^\./, '_')
    .slice(0, 200)}-${hash}`;
}

/**
 * Gets the run `runId` or creates it from the compiled plan, atomically (two tasks racing create one run). A
 * stored run of another plan under that id is a UsageError, never overwritten. A finished run that a scheduler
 * runs a step of again (a task cleared in Airflow) is marked STARTED again.
 */
export async function getOrCreateCompiledRun(
  instance: Instance,
  runId: string,
  compiled: CompiledPlan,
  pipeline: PipelineDefinition,
): Promise<{ created: boolean; run: RunRecord }> {
  const { plan } = compiled;
  if (plan.pipeline !== pipeline.name) {
    throw new UsageError(`the compiled plan is of pipeline '${plan.pipeline}', not '${pipeline.name}'`);
  }
  if (plan.fingerprint !== pipeline.fingerprint) {
    throw new UsageError(
      `the code of pipeline '${pipeline.name}' changed since the plan was compiled (fingerprint ${pipeline.fingerprint}, plan ${plan.fingerprint}); compile it again (stepwise airflow|argo compile)`,
    );
  }
  await instance.init();
  const now = Date.now();
  const record: RunRecord = {
    runId,
    pipeline: pipeline.name,
    status: 'STARTED',
    runConfig: compiled.runConfig,
    plan,
    tags: { ...compiled.tags },
    createdAt: now,
    startedAt: now,
    updatedAt: now,
  };
  // A storage plugin written before createRunIfAbsent existed cannot take part: say so rather than race.
  if (typeof instance.storage.createRunIfAbsent !== 'function') {
    throw new UsageError(
      "the instance's storage has no createRunIfAbsent, which compiled runs need (two tasks may start a run at once); use storage.sqlite or storage.postgres, or add it to the storage plugin",
    );
  }
  const result = await instance.storage.createRunIfAbsent(record);
  if (result.created) {
    await instance.storage.appendEvents([makeEvent('RUN_START', runId, { stepCount: plan.steps.length })]);
    return result;
  }
  if (canonicalJson(result.run.plan) !== canonicalJson(plan)) {
    throw new UsageError(
      `run '${runId}' exists and was created from another plan (pipeline '${result.run.pipeline}'); a compiled run id names one plan: use another run id, or the plan the run was created from`,
    );
  }
  if (TERMINAL_RUN_STATUSES.includes(result.run.status)) {
    await instance.storage.updateRun(runId, { status: 'STARTED' });
  }
  return result;
}

/**
 * Ends a run driven step by step from outside (every task an `execute-step`) once its log shows every step ended:
 * RUN_SUCCESS, or RUN_FAILURE naming the failed steps, and the run's status. Of the tasks that see it, the one that
 * moves the run from STARTED records it, once. Returns the outcome, or undefined while steps remain.
 */
export async function finishCompiledRunIfDone(instance: Instance, run: RunRecord): Promise<RunOutcome | undefined> {
  const view = replayStoredRun(run.plan, run.runId, await instance.storage.getEvents(run.runId));
  if (!view.state.finished) return undefined;
  const failedSteps: string[] = [];
  let blocked = false;
  for (const node of view.state.steps.values()) {
    if (node.status === 'FAILURE' || node.status === 'CANCELED') failedSteps.push(node.key);
    if (node.status === 'NOT_STARTED') blocked = true;
  }
  const outcome: RunOutcome = failedSteps.length > 0 || blocked ? 'FAILURE' : 'SUCCESS';
  // Several tasks may see the last step end at once: the one whose conditional update takes the run records it.
  const claimed = await instance.storage.transitionRun(
    run.runId,
    { status: ['STARTED'] },
    { status: outcome, endedAt: Date.now() },
  );
  if (!claimed) return outcome;
  const durationMs = Date.now() - (run.startedAt ?? run.createdAt);
  await instance.storage.appendEvents([
    outcome === 'SUCCESS'
      ? makeEvent('RUN_SUCCESS', run.runId, { durationMs })
      : makeEvent(
          'RUN_FAILURE',
          run.runId,
          { durationMs, failedSteps },
          { message: `steps failed: ${failedSteps.join(', ')}` },
        ),
  ]);
  return outcome;
}
