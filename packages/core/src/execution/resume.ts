import { validateRunConfig } from '../config/run-config.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { ConfigError, NotFoundError, StepwiseError } from '../errors/index.js';
import type { Instance } from '../instance/instance.js';
import { TERMINAL_RUN_STATUSES } from '../storage/run-storage.js';
import { takeCoordinatorLease } from './coordinator-lease.js';
import type { ExecuteOptions } from './execute-pipeline.js';
import { executorFromConfig, loadExecutorPlugin } from './executor-registry.js';
import { replayStoredRun } from './replay-stored-run.js';
import { type RunHandle, startHandle } from './run-handle.js';
import { executePlan } from './run-lifecycle.js';
import type { RunResult } from './run-result.js';
import { storedRunPlan } from './stored-run-plan.js';

/** The run cannot be resumed: it has finished, or the code no longer matches its plan. */
export class ResumeError extends StepwiseError {
  constructor(message: string) {
    super('RESUME_REFUSED', message);
  }
}

export interface ResumeOptions extends Omit<ExecuteOptions, 'instance' | 'runId' | 'stepSelection'> {
  instance: Instance;
  /**
   * The run config again. The stored one has its secrets masked; give it when the run used secrets (or a Redis URL
   * with a password). Default: the stored run config.
   */
  runConfig?: unknown;
  /**
   * Take the run over even though its coordinator looks alive (its lease has not expired): that coordinator's
   * writes are refused from then on and it stops. Default false: such a resume is refused (RunLeaseHeldError).
   */
  force?: boolean;
}

/**
 * Resumes a run whose coordinator died: rebuilds its state from the stored event log (and, with the queue
 * executor, from the run's Redis stream), re-adopts steps still running on workers, dispatches what is left,
 * and finishes the run. Steps that succeeded are not run again.
 */
export async function resumeRun(
  pipeline: PipelineDefinition,
  runId: string,
  options: ResumeOptions,
): Promise<RunResult> {
  return startResume(pipeline, runId, options).result;
}

export function startResume(pipeline: PipelineDefinition, runId: string, options: ResumeOptions): RunHandle {
  return startHandle({ ...options, runId }, async (handle) => {
    const { instance } = options;
    await instance.init();
    const run = await instance.storage.getRun(runId);
    if (!run) throw new NotFoundError(`run '${runId}' not found; list runs with: stepwise runs list`);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) {
      throw new ResumeError(
        `run ${runId} already ended (${run.status}); start a new run from it with: stepwise reexecute ${runId}`,
      );
    }
    if (run.pipeline !== pipeline.name) {
      throw new ResumeError(`run ${runId} is of pipeline '${run.pipeline}', not '${pipeline.name}'`);
    }
    if (run.plan.fingerprint !== pipeline.fingerprint) {
      throw new ResumeError(
        `the code of pipeline '${pipeline.name}' changed since run ${runId} started (fingerprint ${pipeline.fingerprint}, the run's ${run.plan.fingerprint}); deploy the run's version to resume it, or re-execute it`,
      );
    }
    const rawConfig = options.runConfig ?? run.runConfig;
    await loadExecutorPlugin(rawConfig);
    const config = validateRunConfig(
      pipeline,
      rawConfig,
      run.plan.selection ? { steps: new Set(run.plan.selection) } : {},
    );
    const plan = storedRunPlan(pipeline, run, config, options.runConfig !== undefined);
    if (plan.steps.length !== run.plan.steps.length) {
      throw new ConfigError(`resuming run ${runId}`, [
        { path: '', message: 'the run config given builds another plan than the run has' },
      ]);
    }
    // The lease first, then the log: whatever the previous coordinator writes after the take is refused, so the
    // log read below is all there is.
    const lease = await takeCoordinatorLease(instance, runId, { force: options.force });
    const events = await instance.storage.getEvents(runId);
    const { state, outcome } = replayStoredRun(plan, runId, events);
    if (outcome) {
      // The previous coordinator recorded the run's end but not its status: record it, and do not run it again.
      await instance.storage.updateRun(runId, { status: outcome, endedAt: Date.now() }, lease.fence);
      throw new ResumeError(
        `run ${runId} already ended (${outcome}); start a new run from it with: stepwise reexecute ${runId}`,
      );
    }
    return executePlan(pipeline, {
      ...options,
      plan,
      runId,
      existingRun: true,
      lease,
      state,
      storedEvents: events,
      executor: options.executor ?? (await executorFromConfig(config.execution, options.instance.config?.execution)),
      signal: handle.signal,
      onEvent: handle.publish,
    });
  });
}
