import { validateRunConfig } from '../config/run-config.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { MalformedRunError, NotFoundError, StepwiseError } from '../errors/index.js';
import { serializeError } from '../events/events.js';
import type { ExecuteOptions } from '../execution/execute-pipeline.js';
import { executorFromConfig, loadExecutorPlugin } from '../execution/executor-registry.js';
import { type RunHandle, startHandle } from '../execution/run-handle.js';
import { executePlan } from '../execution/run-lifecycle.js';
import { storedRunPlan } from '../execution/stored-run-plan.js';
import type { Instance } from '../instance/instance.js';
import { codeLocationOf, loadCodeLocation } from '../location/code-location.js';
import type { RunRecord } from '../storage/run-storage.js';
import { endRunWithoutCoordinator } from './end-run.js';
import { LaunchError } from './launch-error.js';

export type StartStoredRunOptions = Omit<ExecuteOptions, 'instance' | 'runId' | 'runConfig' | 'stepSelection' | 'tags'>;

/**
 * Runs a stored STARTING run (one the daemon dequeued) in this process: what `stepwise run --run-id ID` and every
 * run launcher do. The code location the run recorded is loaded and checked against its plan; a run that cannot be
 * launched is failed with the cause (LaunchError LAUNCH_FAILED). The run moves STARTING → STARTED with a
 * conditional update, so of two launches of one run only one runs it (the other: LaunchError RUN_NOT_STARTING).
 */
export function startStoredRun(instance: Instance, runId: string, options: StartStoredRunOptions = {}): RunHandle {
  return startHandle({ ...options, runId }, async (handle) => {
    await instance.init();
    let run: RunRecord | undefined;
    let pipeline: PipelineDefinition;
    let config: ReturnType<typeof validateRunConfig>;
    try {
      run = await instance.storage.getRun(runId);
      if (!run) throw new NotFoundError(`run '${runId}' not found; list runs with: stepwise runs list`);
      if (run.status !== 'STARTING') {
        throw new LaunchError(
          'RUN_NOT_STARTING',
          `run ${runId} is ${run.status}, not STARTING: there is nothing to launch`,
        );
      }
      ({ pipeline } = await loadCodeLocation(codeLocationOf(run)));
      if (pipeline.fingerprint !== run.plan.fingerprint) {
        throw new LaunchError(
          'LAUNCH_FAILED',
          `the code of pipeline '${pipeline.name}' changed since run ${runId} was submitted (fingerprint ${pipeline.fingerprint}, the run's ${run.plan.fingerprint}); submit it again`,
        );
      }
      await loadExecutorPlugin(run.runConfig);
      const selection = run.plan.selection ? { steps: new Set(run.plan.selection) } : {};
      config = validateRunConfig(pipeline, run.runConfig, selection);
    } catch (error) {
      if (error instanceof NotFoundError || (error instanceof LaunchError && error.code === 'RUN_NOT_STARTING'))
        throw error;
      if (StepwiseError.is(error) && error.code === 'STORAGE_FAILED') throw error;
      const cause = (error as Error).message.split('\n').slice(0, 3).join(' ');
      const message = `cannot launch run ${runId}: ${cause}`;
      await endRunWithoutCoordinator(instance, runId, {
        from: ['STARTING'],
        outcome: 'FAILURE',
        kind: error instanceof MalformedRunError ? 'malformed_run' : 'launch_failed',
        message,
        details: { error: serializeError(error) },
      });
      throw error instanceof LaunchError ? error : new LaunchError('LAUNCH_FAILED', message, { cause: error });
    }
    const started = await instance.storage.transitionRun(
      runId,
      { status: ['STARTING'] },
      { status: 'STARTED', startedAt: Date.now() },
    );
    if (!started) {
      throw new LaunchError(
        'RUN_NOT_STARTING',
        `run ${runId} is no longer STARTING (canceled, or another launcher started it); nothing to do`,
      );
    }
    return executePlan(pipeline, {
      ...options,
      instance,
      plan: storedRunPlan(pipeline, run, config, false),
      runId,
      runConfig: run.runConfig,
      tags: run.tags,
      existingRun: true,
      executor: options.executor ?? (await executorFromConfig(config.execution, instance.config?.execution)),
      signal: handle.signal,
      onEvent: handle.publish,
    });
  });
}
