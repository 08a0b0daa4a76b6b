import type { PipelineDefinition } from '../definitions/pipeline.js';
import type { Instance } from '../instance/instance.js';
import type { CompiledPlan } from '../plan/compiled-plan.js';
import { finishCompiledRunIfDone, getOrCreateCompiledRun } from './compiled-run.js';
import { type ExecuteStoredStepOptions, executeStoredStep, type StoredStepResult } from './execute-stored-step.js';
import { replayStoredRun } from './replay-stored-run.js';
import type { RunOutcome } from './run-driver.js';
import { producedOutput } from './step-node.js';

export interface CompiledStepResult extends StoredStepResult {
  /** Whether this call created the run. */
  createdRun: boolean;
  /** For a step with a dynamic output that succeeded: the mapping keys it emitted, in order. */
  mappingKeys?: string[];
  /** Set when this step was the run's last: how the run ended. */
  runOutcome?: RunOutcome;
}

/**
 * One task of a pipeline compiled for another scheduler (docs/deploy/airflow.md, argo.md): gets or creates the run from the compiled
 * plan, makes one attempt of the step (the scheduler runs the retries: its task retries are the op's policy), answers
 * SKIPPED for a step the run skips, and ends the run when this was its last step.
 */
export async function executeCompiledStep(
  instance: Instance,
  compiled: CompiledPlan,
  runId: string,
  stepKey: string,
  pipeline: PipelineDefinition,
  options: Omit<ExecuteStoredStepOptions, 'singleAttempt' | 'recordSkip'> = {},
): Promise<CompiledStepResult> {
  const { created, run } = await getOrCreateCompiledRun(instance, runId, compiled, pipeline);
  const step = await executeStoredStep(instance, runId, stepKey, pipeline, {
    ...options,
    singleAttempt: true,
    recordSkip: true,
  });
  const result: CompiledStepResult = { ...step, createdRun: created };
  const dynamic = compiled.plan.steps.find((s) => s.key === stepKey)?.outputs.find((o) => o.dynamic);
  if (step.status === 'SUCCESS' && dynamic) {
    const view = replayStoredRun(run.plan, runId, await instance.storage.getEvents(runId));
    const node = view.state.steps.get(stepKey);
    const keys = node ? producedOutput(node, dynamic.name) : undefined;
    result.mappingKeys = Array.isArray(keys) ? keys : [];
  }
  const outcome = await finishCompiledRunIfDone(instance, run);
  if (outcome) result.runOutcome = outcome;
  return result;
}
