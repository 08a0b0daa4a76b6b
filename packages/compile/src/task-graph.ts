import type { ExecutionPlan, PlanStep, RetryPolicy } from '@stepwise/core';
import { CompileError } from './errors.js';

/** One task of the other scheduler: a plan step, run by `stepwise execute-step`. */
export interface CompiledTask {
  stepKey: string;
  /** Step keys of the tasks it waits for. */
  upstream: string[];
  /** For a step run once per item of a dynamic output: the fan-out step whose mapping keys it expands over. */
  mappedOver?: string;
  /** For a fan-out step: it prints (or writes) its mapping keys for the mapped tasks. */
  fanOut: boolean;
  retry?: RetryPolicy;
}

/**
 * The plan as tasks of another scheduler, in plan (topological) order. A step copied per item of a dynamic output
 * is one mapped task over its fan-out step's mapping keys. What Airflow and Argo cannot express is refused: a
 * fan-out inside a fan-out (their mapped tasks cannot expand again per item), and a step with two dynamic outputs
 * that both fan out (one task has one list of mapping keys).
 */
export function taskGraph(plan: ExecutionPlan): CompiledTask[] {
  const byKey = new Map<string, PlanStep>(plan.steps.map((s) => [s.key, s]));
  const fanOutputs = new Map<string, Set<string>>();
  for (const step of plan.steps) {
    if (!step.scope) continue;
    const source = byKey.get(step.scope.step);
    if (source?.scope) {
      throw new CompileError(
        `step '${step.key}' fans out over '${step.scope.step}', which itself runs once per item of '${source.scope.step}': Airflow and Argo cannot map a mapped task again; collect '${step.scope.step}' first and fan out from a step outside the mapping`,
      );
    }
    const outputs = fanOutputs.get(step.scope.step) ?? new Set<string>();
    outputs.add(step.scope.output);
    fanOutputs.set(step.scope.step, outputs);
    if (outputs.size > 1) {
      throw new CompileError(
        `step '${step.scope.step}' fans out over two dynamic outputs (${[...outputs].join(', ')}): a task has one list of mapping keys; split it into two steps`,
      );
    }
  }
  return plan.steps.map((step) => {
    const task: CompiledTask = {
      stepKey: step.key,
      upstream: [...step.upstream],
      fanOut: fanOutputs.has(step.key),
    };
    if (step.scope) task.mappedOver = step.scope.step;
    if (step.retry && step.retry.maxRetries > 0) task.retry = step.retry;
    return task;
  });
}
