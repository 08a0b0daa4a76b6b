import type { IOManager, PipelineDefinition, StepTask, StepwiseEvent } from '@stepwise/core';
import type { Logger } from 'pino';
import type { StopCause } from './errors/index.js';

/** How an attempt ended, as the job processor counts it. */
export type RunStatus = 'SUCCESS' | 'FAILURE' | 'RETRY' | 'CANCELED';

/** One attempt of one step, as the job processor hands it to a runner. */
export interface StepRun {
  task: StepTask;
  attempt: number;
  pipeline: PipelineDefinition;
  io: IOManager;
  resourceConfig: Record<string, unknown>;
  logger: Logger;
  /** Receives the step's events in order (on the worker's main loop). */
  emit: (event: StepwiseEvent) => void;
}

/** What a runner is told about the step's deadlines (see StepWatch). */
export interface RunControl {
  /** The step's ctx.signal: aborted when its run is canceled or its timeout passes. */
  readonly signal: AbortSignal;
  /** Set to learn when the step outlived its grace after the abort. */
  onOverdue?: (cause: StopCause) => void;
}

/** Where a step's code runs: the worker's own loop, a pool thread or a pool process. */
export interface StepRunner {
  run(step: StepRun, control: RunControl): Promise<RunStatus>;
}

/** The status an attempt's terminal event means. */
export function statusOf(event: StepwiseEvent, aborted: boolean): RunStatus | undefined {
  if (event.type === 'STEP_SUCCESS') return 'SUCCESS';
  if (event.type === 'STEP_UP_FOR_RETRY') return 'RETRY';
  if (event.type === 'STEP_FAILURE') return aborted ? 'CANCELED' : 'FAILURE';
  return undefined;
}
