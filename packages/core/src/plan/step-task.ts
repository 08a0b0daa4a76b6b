import type { PlanStep, ResolvedInput, StepTask } from './plan.js';

/**
 * The task of one step of a run: its plan step with the inputs resolved (refs to upstream outputs, config
 * values). The one place a StepTask is made: every executor's tasks (ready steps, the successors of a chain)
 * come from here, so that none lacks a field another has.
 */
export function buildStepTask(
  runId: string,
  step: PlanStep,
  inputs: Record<string, ResolvedInput>,
  mappingKey?: string,
): StepTask {
  const task: StepTask = {
    runId,
    key: mappingKey === undefined ? step.key : `${step.key}[${mappingKey}]`,
    planKey: step.key,
    op: step.op,
    inputs,
    outputs: step.outputs,
    config: step.config,
    tags: step.tags,
  };
  if (mappingKey !== undefined) task.mappingKey = mappingKey;
  if (step.retry) task.retry = step.retry;
  return task;
}
