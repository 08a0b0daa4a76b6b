import { deepMerge } from '../config/deep-merge.js';
import { validateRunConfig } from '../config/run-config.js';
import type { InputBinding } from '../definitions/composition.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { NotFoundError, UsageError } from '../errors/index.js';
import type { Instance } from '../instance/instance.js';
import { buildPlan } from '../plan/build-plan.js';
import { selectSteps, upstreamOf } from '../plan/select.js';
import { type RunRecord, TERMINAL_RUN_STATUSES } from '../storage/run-storage.js';
import type { ExecuteOptions } from './execute-pipeline.js';
import { executorFromConfig, loadExecutorPlugin } from './executor-registry.js';
import { replayStoredRun, type StoredRunView } from './replay-stored-run.js';
import { type RunHandle, startHandle } from './run-handle.js';
import { executePlan } from './run-lifecycle.js';
import type { RunResult } from './run-result.js';
import { hasProduced } from './step-node.js';

/** Tags a re-execution records, besides the parent/root links of its run record. */
export const PARENT_RUN_TAG = 'stepwise/parentRunId';
export const ROOT_RUN_TAG = 'stepwise/rootRunId';

export interface ReexecuteOptions extends Omit<ExecuteOptions, 'instance' | 'runConfig' | 'stepSelection'> {
  /**
   * Re-run only what did not succeed in the parent (failed, canceled, never started) and what depends on it;
   * every step that succeeded is reused. Default false.
   */
  fromFailure?: boolean;
  /** Re-run exactly these steps (Dagster selection syntax); the others are reused where the parent produced them. */
  stepSelection?: string | string[];
  /** Deep-merged over the parent's run config (later wins), e.g. to fix the value that made a step fail. */
  runConfig?: unknown;
}

/** What a re-execution will run and reuse. */
export interface ReexecutionPlan {
  /** Keys of the pipeline's steps to run again, in topological order. */
  steps: string[];
  /** Steps not run again whose stored outputs the new run reads: step key -> run id holding them. */
  reuse: Record<string, string>;
}

function sourcesOf(binding: InputBinding): Array<{ node: string; output: string }> {
  return binding.kind === 'fanIn' ? binding.sources : [binding];
}

/**
 * Steps of the parent whose outputs can be reused: step key -> the run holding its outputs (the parent, or the run
 * the parent itself reused it from). A mapped template counts when its source and every copy ended well.
 */
function reusableSteps(parent: RunRecord, view: StoredRunView): Map<string, string> {
  const done = new Map<string, string>(Object.entries(parent.plan.reuse));
  const copies = new Map<string, boolean>();
  for (const node of view.state.steps.values()) {
    if (node.mappingKey === undefined) continue;
    const ok = node.status === 'SUCCESS' || node.status === 'SKIPPED';
    copies.set(node.plan.key, (copies.get(node.plan.key) ?? true) && ok);
  }
  for (const step of parent.plan.steps) {
    const ok = step.scope
      ? view.state.steps.get(step.scope.step)?.status === 'SUCCESS' && copies.get(step.key) !== false
      : view.state.steps.get(step.key)?.status === 'SUCCESS';
    if (ok) done.set(step.key, parent.runId);
    else done.delete(step.key);
  }
  return done;
}

/** From failure: what did not succeed, what depends on it, and what must run again for those to run. */
function failedClosure(pipeline: PipelineDefinition, done: Map<string, string>, view: StoredRunView): Set<string> {
  const toRun = new Set<string>();
  for (const key of pipeline.order) {
    // A step skipped because an optional output was left out is not a failure: it runs again only with its upstream.
    if (!done.has(key) && view.state.steps.get(key)?.status !== 'SKIPPED') toRun.add(key);
  }
  let size = -1;
  while (size !== toRun.size) {
    size = toRun.size;
    for (const key of pipeline.order) {
      const node = pipeline.nodes.get(key);
      if (!node) continue;
      if (toRun.has(key)) {
        // Mapped copies come from their dynamic source: it runs again with them.
        if (node.scope) toRun.add(node.scope.node);
        // An output the parent never produced (optional, left out) cannot be reused: its producer runs again.
        for (const binding of Object.values(node.inputs)) {
          for (const src of sourcesOf(binding)) {
            if (toRun.has(src.node) || !view.state.steps.has(src.node)) continue;
            const upNode = view.state.steps.get(src.node);
            if (!upNode || !hasProduced(upNode, src.output)) toRun.add(src.node);
          }
        }
      } else if (upstreamOf(node, pipeline.nodes).some((u) => toRun.has(u))) {
        toRun.add(key);
      }
    }
  }
  return toRun;
}

/**
 * Decides what a re-execution of `parent` runs and reuses. Exported for tools that show it before running
 * (`stepwise reexecute` prints it); {@link reexecuteRun} runs it.
 */
export function planReexecution(
  pipeline: PipelineDefinition,
  parent: RunRecord,
  view: StoredRunView,
  options: Pick<ReexecuteOptions, 'fromFailure' | 'stepSelection'> = {},
): ReexecutionPlan {
  if (options.fromFailure && options.stepSelection !== undefined) {
    throw new UsageError('give either from-failure or a step selection, not both');
  }
  const done = reusableSteps(parent, view);
  let toRun: Set<string>;
  if (options.stepSelection !== undefined) toRun = selectSteps(pipeline, options.stepSelection);
  else if (options.fromFailure) {
    toRun = failedClosure(pipeline, done, view);
    if (toRun.size === 0) {
      throw new UsageError(`run ${parent.runId} has no failed or unfinished steps: nothing to re-execute from failure`);
    }
  } else toRun = new Set(pipeline.order);
  const reuse: Record<string, string> = {};
  for (const [key, runId] of done) {
    const node = pipeline.nodes.get(key);
    // Copies of a template are only read by steps selected together with it, never across runs.
    if (node && !node.scope && !toRun.has(key)) reuse[key] = runId;
  }
  return { steps: pipeline.order.filter((k) => toRun.has(k)), reuse };
}

/**
 * Starts a new run of `pipeline` linked to a finished run (`parentRunId`, `rootRunId`): the steps chosen by
 * `fromFailure` / `stepSelection` (default: all) run again, the others' stored outputs are read through the IO
 * manager. The run config is the parent's with `runConfig` deep-merged over it. Misuse (unknown run, run still
 * going, another pipeline, bad config) rejects `result` before any step runs.
 */
export function startReexecution(
  instance: Instance,
  parentRunId: string,
  pipeline: PipelineDefinition,
  options: ReexecuteOptions = {},
): RunHandle {
  const { fromFailure, stepSelection, runConfig, ...runOptions } = options;
  return startHandle(options, async (handle) => {
    await instance.init();
    const parent = await instance.storage.getRun(parentRunId);
    if (!parent) throw new NotFoundError(`run '${parentRunId}' not found`);
    if (!TERMINAL_RUN_STATUSES.includes(parent.status)) {
      throw new UsageError(`run ${parentRunId} is ${parent.status}: only a finished run can be re-executed`);
    }
    if (parent.pipeline !== pipeline.name) {
      throw new UsageError(`run ${parentRunId} is a run of pipeline '${parent.pipeline}', not '${pipeline.name}'`);
    }
    const view = replayStoredRun(parent.plan, parent.runId, await instance.storage.getEvents(parent.runId));
    const planned = planReexecution(pipeline, parent, view, { fromFailure, stepSelection });
    const raw = runConfig === undefined ? (parent.runConfig ?? {}) : deepMerge(parent.runConfig ?? {}, runConfig);
    const all = planned.steps.length === pipeline.order.length;
    await loadExecutorPlugin(raw);
    const config = validateRunConfig(pipeline, raw, all ? {} : { steps: new Set(planned.steps) });
    const plan = buildPlan(pipeline, config, all ? {} : { stepSelection: planned.steps, reuse: planned.reuse });
    const rootRunId = parent.rootRunId ?? parent.runId;
    return executePlan(pipeline, {
      ...runOptions,
      plan,
      instance,
      runConfig: raw,
      tags: {
        ...parent.tags,
        ...config.tags,
        ...options.tags,
        [PARENT_RUN_TAG]: parent.runId,
        [ROOT_RUN_TAG]: rootRunId,
      },
      executor: options.executor ?? (await executorFromConfig(config.execution, instance.config?.execution)),
      parentRunId: parent.runId,
      rootRunId,
      runId: handle.runId,
      signal: handle.signal,
      onEvent: handle.publish,
    });
  });
}

/** Re-executes a finished run and resolves to the new run's result (see {@link startReexecution}). */
export function reexecuteRun(
  instance: Instance,
  parentRunId: string,
  pipeline: PipelineDefinition,
  options: ReexecuteOptions = {},
): Promise<RunResult> {
  return startReexecution(instance, parentRunId, pipeline, options).result;
}
