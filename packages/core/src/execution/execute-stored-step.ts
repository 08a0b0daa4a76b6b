import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { redactEvent } from '../config/redact.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { NotFoundError, UsageError } from '../errors/index.js';
import { makeEvent, type StepwiseEvent, serializeError } from '../events/events.js';
import type { Instance } from '../instance/instance.js';
import { EventWriter } from '../storage/event-writer.js';
import { defaultLogger } from './default-logger.js';
import { executeStep, StepAbortedError } from './execute-step.js';
import { replayStoredRun, STEP_REEXECUTED } from './replay-stored-run.js';
import { ResourceManager } from './resource-manager.js';
import { pipelineToRun } from './step-refusal.js';
import type { StepRuntime } from './step-runtime.js';

export interface ExecuteStoredStepOptions {
  /** Aborting it aborts the step (`ctx.signal`) and any retry wait. */
  signal?: AbortSignal;
  /** Sees every event of the step as it happens (they are also written to storage). */
  onEvent?: (event: StepwiseEvent) => void;
  /** Recorded on the step's events. Default: none. */
  workerId?: string;
  /** Engine logger. Default: pino at `warn` on stderr. */
  logger?: Logger;
  /**
   * Run the step even though the code's fingerprint differs from the one the run was planned with.
   * Default false: a step of changed code belongs in a re-execution.
   */
  allowChangedCode?: boolean;
  /**
   * Make one attempt only: a failure the op's retry policy would retry ends as `UP_FOR_RETRY` (recorded so), for a
   * scheduler that runs retries itself (Airflow's task retries). Default false: retries run here.
   */
  singleAttempt?: boolean;
  /**
   * A step the run's state skips (an optional input not produced upstream) is recorded STEP_SKIPPED and answered
   * with status `SKIPPED`, for a scheduler that runs every task. Default false: asking to run it is a UsageError.
   */
  recordSkip?: boolean;
}

export interface StoredStepResult {
  runId: string;
  stepKey: string;
  status: 'SUCCESS' | 'FAILURE' | 'CANCELED' | 'SKIPPED' | 'UP_FOR_RETRY';
  /** Attempt number of the last attempt made. */
  attempt: number;
}

/**
 * Executes one step of a stored run in this process (`stepwise execute-step`, the unit external schedulers call):
 * the step's inputs are read through the instance's IO manager from the outputs its upstream steps stored, its
 * events are appended to the run's log, and retries of its op's policy run here. The run record's status is left
 * alone; `runs show` reads the step's newest attempt from the log.
 */
export async function executeStoredStep(
  instance: Instance,
  runId: string,
  stepKey: string,
  pipeline: PipelineDefinition,
  options: ExecuteStoredStepOptions = {},
): Promise<StoredStepResult> {
  await instance.init();
  const run = await instance.storage.getRun(runId);
  if (!run) throw new NotFoundError(`run '${runId}' not found`);
  pipelineToRun({
    run: {
      runId,
      pipeline: run.pipeline,
      fingerprint: run.plan.fingerprint,
      canceled: run.status === 'CANCELING' || run.status === 'CANCELED',
    },
    pipelines: new Map([[pipeline.name, pipeline]]),
    source: pipeline.sourceFile ?? 'the pipeline given',
    runner: `process ${process.pid}`,
    allowChangedCode: options.allowChangedCode,
  });
  const stored = await instance.storage.getEvents(runId);
  const view = replayStoredRun(run.plan, runId, stored);
  const node = view.state.steps.get(stepKey);
  if (!node) {
    const template = run.plan.steps.find((s) => s.key === stepKey && s.scope);
    if (template?.scope) {
      throw new UsageError(
        `step '${stepKey}' runs once per item of '${template.scope.step}.${template.scope.output}': give the key of one copy, e.g. '${stepKey}[<mapping key>]'`,
      );
    }
    throw new NotFoundError(`run ${runId} has no step '${stepKey}' (see: stepwise runs show ${runId})`);
  }
  const task = view.state.taskOf(node);
  if (!task && node.status === 'SKIPPED' && options.recordSkip) {
    if (!stored.some((e) => e.type === 'STEP_SKIPPED' && e.stepKey === stepKey)) {
      const reason = node.skipReason ?? 'an upstream output was not produced';
      await instance.storage.appendEvents([
        makeEvent('STEP_SKIPPED', runId, { reason }, { stepKey, attempt: node.attempt, message: reason }),
      ]);
    }
    return { runId, stepKey, status: 'SKIPPED', attempt: node.attempt };
  }
  if (!task) {
    const why =
      node.status === 'SKIPPED'
        ? `it was skipped (${node.skipReason ?? 'an upstream output was not produced'})`
        : node.status === 'PENDING'
          ? 'its upstream steps have not finished'
          : 'an upstream step did not succeed';
    throw new UsageError(`step '${stepKey}' of run ${runId} cannot run: ${why}`);
  }
  const logger = options.logger ?? defaultLogger();
  const resources = new ResourceManager(pipeline, logger);
  const runtime: StepRuntime = { pipeline, io: instance.io, resources, computeLogs: instance.computeLogs, logger };
  if (options.workerId !== undefined) runtime.workerId = options.workerId;
  const writer = new EventWriter(instance.storage);
  // URL passwords and values under secret keys are masked in what is stored and printed (the run config's own
  // secrets never reach here: the stored plan has them masked already).
  const emit = (raw: StepwiseEvent) => {
    const event = redactEvent(raw);
    writer.write(event);
    try {
      options.onEvent?.(event);
    } catch (error) {
      logger.error({ err: error }, 'onEvent callback threw; ignoring');
    }
  };
  const signal = options.signal ?? new AbortController().signal;
  // A step that ran before gets the next attempt number, and a record that it was re-executed: its events then
  // supersede the older ones when the log is replayed (replayStoredRun).
  let attempt = node.startedAt !== undefined ? node.attempt + 1 : node.attempt;
  if (node.startedAt !== undefined) {
    emit(
      makeEvent(
        'ENGINE_EVENT',
        runId,
        { kind: STEP_REEXECUTED, details: { stepKey, attempt } },
        { stepKey, attempt, message: `step '${stepKey}' re-executed as attempt ${attempt}` },
      ),
    );
  }
  try {
    for (;;) {
      const outcome = await executeStep(task, attempt, runtime, { signal, emit, resourceConfig: run.plan.resources });
      if (outcome.status !== 'RETRY') return { runId, stepKey, status: outcome.status, attempt };
      if (options.singleAttempt) return { runId, stepKey, status: 'UP_FOR_RETRY', attempt };
      try {
        await sleep(outcome.delayMs, undefined, { signal });
      } catch {
        // Aborted while waiting to retry: end the step in the log rather than leave it up for retry forever.
        const error = serializeError(new StepAbortedError(stepKey, signal.reason));
        emit(makeEvent('STEP_FAILURE', runId, { error }, { stepKey, attempt, message: error.message }));
        return { runId, stepKey, status: 'CANCELED', attempt };
      }
      attempt++;
    }
  } finally {
    await resources.teardown();
    await instance.computeLogs?.flush();
    await writer.flush();
  }
}
