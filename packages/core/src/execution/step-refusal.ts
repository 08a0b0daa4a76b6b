import type { PipelineDefinition } from '../definitions/pipeline.js';
import { StepwiseError } from '../errors/index.js';

/** Why a process refuses to run a run's steps. */
export type StepRefusalCode = 'RUN_CANCELED' | 'PIPELINE_NOT_FOUND' | 'VERSION_SKEW';

/**
 * A process refused to run a step before starting it: the run was canceled, its pipeline is not in the code this
 * process loaded, or that code differs from the code the run was planned with. Fails the step (no retry: the same
 * process would refuse again).
 */
export class StepRefusedError extends StepwiseError {
  declare readonly code: StepRefusalCode;
  constructor(code: StepRefusalCode, message: string) {
    super(code, message);
  }
}

export interface StepRefusalCheck {
  /** The run's pipeline and the fingerprint of the code it was planned with. */
  run: { runId: string; pipeline: string; fingerprint: string; canceled?: boolean };
  /** The pipelines this process loaded, by name. */
  pipelines: ReadonlyMap<string, PipelineDefinition>;
  /** Where they were loaded from, for messages: a file name. */
  source: string;
  /** Who refuses, for messages: `worker host/123`, `step process 4567`. */
  runner: string;
  /** Run steps of changed code anyway (an explicit re-run of one step). Default false. */
  allowChangedCode?: boolean;
}

/**
 * The pipeline to run a step of `check.run` with, or a {@link StepRefusedError}: the one check every process that
 * runs steps of a planned run makes first (the multiprocess executor's step process, a queue worker,
 * `execute-step`).
 */
export function pipelineToRun(check: StepRefusalCheck): PipelineDefinition {
  const { run, runner } = check;
  if (run.canceled) throw new StepRefusedError('RUN_CANCELED', `run ${run.runId} was canceled before the step started`);
  const pipeline = check.pipelines.get(run.pipeline);
  if (!pipeline) {
    const known = [...check.pipelines.keys()].join(', ') || 'none';
    throw new StepRefusedError(
      'PIPELINE_NOT_FOUND',
      `${runner} has no pipeline '${run.pipeline}' in ${check.source} (it has ${known}); run the steps of run ${run.runId} with the file that defines it`,
    );
  }
  if (pipeline.fingerprint !== run.fingerprint && !check.allowChangedCode) {
    throw new StepRefusedError(
      'VERSION_SKEW',
      `version skew: ${runner} loaded pipeline '${run.pipeline}' from ${check.source} with fingerprint ${pipeline.fingerprint}, but the run was planned with ${run.fingerprint}; deploy the same code to the coordinator and the processes that run steps (or re-execute the run to plan it with this code)`,
    );
  }
  return pipeline;
}
