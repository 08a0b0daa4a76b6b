import type { Logger } from 'pino';
import { validateRunConfig } from '../config/run-config.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import type { StepwiseEvent } from '../events/events.js';
import type { Instance } from '../instance/instance.js';
import { buildPlan } from '../plan/build-plan.js';
import { selectSteps } from '../plan/select.js';
import type { Executor } from './executor.js';
import { executorFromConfig, loadExecutorPlugin } from './executor-registry.js';
import { type RunHandle, startHandle } from './run-handle.js';
import { executePlan } from './run-lifecycle.js';
import type { RunResult } from './run-result.js';

export interface ExecuteOptions {
  /** Run config object (README.md). Validated before anything runs. */
  runConfig?: unknown;
  /** Where the run is recorded. Default: an ephemeral in-memory instance. */
  instance?: Instance;
  /** Overrides `runConfig.execution`. Default: from the run config, else in-process. */
  executor?: Executor;
  /** Aborting it cancels the run: no new step starts, running steps see `ctx.signal` fire. */
  signal?: AbortSignal;
  /** Sees every event as it happens. Exceptions it throws are logged and ignored. */
  onEvent?: (event: StepwiseEvent) => void;
  tags?: Record<string, string>;
  /** Dagster-style step selection (`extract+`, `*total`). */
  stepSelection?: string | string[];
  /** Logger of the run's engine lines. Default: pino at `warn` on stderr. */
  logger?: Logger;
  /** Id of the new run. Default: a random UUID. */
  runId?: string;
  /** Load every output after the run so that `result.output()` answers synchronously. Default: true. */
  loadOutputs?: boolean;
}

/**
 * Executes a pipeline and resolves to its result. A failed run resolves with status FAILURE;
 * only misuse (bad config, bad selection) rejects, with a StepwiseError.
 */
export async function executePipeline(pipeline: PipelineDefinition, options: ExecuteOptions = {}): Promise<RunResult> {
  return startRun(pipeline, options).result;
}

/** Executes a pipeline and yields its events as they happen. */
export function runEvents(
  pipeline: PipelineDefinition,
  options: ExecuteOptions = {},
): AsyncIterableIterator<StepwiseEvent> {
  return startRun(pipeline, options).events();
}

/** Starts a run and returns a handle to follow or cancel it. */
export function startRun(pipeline: PipelineDefinition, options: ExecuteOptions = {}): RunHandle {
  return startHandle(options, async (handle) => {
    // Misuse rejects here, before a run is recorded.
    const raw = options.runConfig ?? {};
    const selected = options.stepSelection === undefined ? undefined : selectSteps(pipeline, options.stepSelection);
    await loadExecutorPlugin(raw);
    const config = validateRunConfig(pipeline, raw, selected ? { steps: selected } : {});
    const plan = buildPlan(pipeline, config, { stepSelection: options.stepSelection });
    return executePlan(pipeline, {
      ...options,
      plan,
      runConfig: raw,
      tags: { ...pipeline.tags, ...config.tags, ...options.tags },
      executor: options.executor ?? (await executorFromConfig(config.execution, options.instance?.config?.execution)),
      runId: handle.runId,
      signal: handle.signal,
      onEvent: handle.publish,
    });
  });
}
