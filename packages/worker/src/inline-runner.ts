import {
  executeStep,
  makeEvent,
  type PipelineDefinition,
  ResourceManager,
  type StepwiseEvent,
  serializeError,
} from '@stepwise/core';
import type { Logger } from 'pino';
import { StepAbandonedError, type StopCause } from './errors/index.js';
import type { RunControl, RunStatus, StepRun, StepRunner } from './step-runner.js';

/** A step the worker gave up on while its code still runs on the loop (listed by `stepwise workers`). */
export interface AbandonedStep {
  runId: string;
  stepKey: string;
  attempt: number;
  reason: string;
  at: number;
}

/** Abandoned steps listed at most, newest kept. */
const KEEP_ABANDONED = 20;

export interface InlineRunnerOptions {
  workerId: string;
  graceMs: number;
  logger: Logger;
  now?: () => number;
  onAbandoned?: (step: AbandonedStep) => void;
}

/**
 * `--isolation none`: runs steps on the worker's own event loop, which costs nothing per step but lets a CPU-bound
 * step block lock renewal and every other step of the worker. A step past its grace cannot be killed: it is
 * abandoned (failed, its slot released, its later events dropped).
 */
export class InlineRunner implements StepRunner {
  readonly abandoned: AbandonedStep[] = [];
  private readonly resources = new Map<string, ResourceManager>();

  constructor(private readonly options: InlineRunnerOptions) {}

  async run(step: StepRun, control: RunControl): Promise<RunStatus> {
    const { task, attempt } = step;
    let abandoned = false;
    const emit = (event: StepwiseEvent) => {
      if (!abandoned) step.emit(event);
    };
    const started = performance.now();
    const running = executeStep(
      task,
      attempt,
      {
        pipeline: step.pipeline,
        io: step.io,
        resources: this.resourcesFor(step.pipeline),
        logger: step.logger,
        workerId: this.options.workerId,
      },
      { signal: control.signal, resourceConfig: step.resourceConfig, emit },
    ).then((outcome) => outcome.status);
    const overdue = new Promise<RunStatus>((resolve) => {
      control.onOverdue = (cause: StopCause) => {
        const error = new StepAbandonedError(task.key, cause, this.options.graceMs);
        emit(
          makeEvent(
            'STEP_FAILURE',
            task.runId,
            { error: serializeError(error), durationMs: performance.now() - started },
            { stepKey: task.key, attempt, workerId: this.options.workerId, message: error.message },
          ),
        );
        abandoned = true;
        const entry = { runId: task.runId, stepKey: task.key, attempt, reason: error.message, at: this.now() };
        this.abandoned.push(entry);
        if (this.abandoned.length > KEEP_ABANDONED) this.abandoned.shift();
        this.options.onAbandoned?.(entry);
        step.logger.error({ reason: error.message }, 'step abandoned');
        resolve('FAILURE');
      };
    });
    // The abandoned step's promise still settles some day: keep its rejection from being unhandled.
    running.catch(() => {});
    return Promise.race([running, overdue]);
  }

  async teardown(): Promise<void> {
    for (const manager of this.resources.values()) await manager.teardown();
    this.resources.clear();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private resourcesFor(pipeline: PipelineDefinition): ResourceManager {
    let manager = this.resources.get(pipeline.name);
    if (!manager) {
      manager = new ResourceManager(pipeline, this.options.logger);
      this.resources.set(pipeline.name, manager);
    }
    return manager;
  }
}
