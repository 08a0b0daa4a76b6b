import { randomUUID } from 'node:crypto';
import { collectSecretValues, redactConfig, redactEvent, redactPlan, redactValue } from '../config/redact.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import type { SerializedError, StepwiseEvent } from '../events/events.js';
import { Instance } from '../instance/instance.js';
import { CachingIOManager } from '../io/caching-io-manager.js';
import type { ExecutionPlan } from '../plan/plan.js';
import { EventWriter } from '../storage/event-writer.js';
import type { RunRecord } from '../storage/run-storage.js';
import { defaultLogger } from './default-logger.js';
import type { ExecuteOptions } from './execute-pipeline.js';
import { executorFromConfig } from './executor-registry.js';
import { RunDriver, type RunOutcome } from './run-driver.js';
import { buildRunResult, type RunResult } from './run-result.js';
import type { RunState } from './run-state.js';

/** Options of a run started from an already built plan (re-execution, the CLI). */
export interface ExecutePlanOptions extends Omit<ExecuteOptions, 'runConfig' | 'stepSelection'> {
  plan: ExecutionPlan;
  /** The run config as given, recorded with the run. */
  runConfig?: unknown;
  parentRunId?: string;
  rootRunId?: string;
  /** The run record exists already (created by a launcher or `stepwise run`); only its status is updated. */
  existingRun?: boolean;
  /** Resume: a state rebuilt from the stored events. */
  state?: RunState;
  /** Resume: the stored events `state` was rebuilt from (an executor may deliver them again; they are dropped). */
  storedEvents?: readonly StepwiseEvent[];
  /** How often the coordinator marks the run as alive in storage. Default 5,000 ms, or a third of `runMonitoring.heartbeatTimeoutMs` when shorter. */
  heartbeatMs?: number;
  /** How often storage is checked for a cancel request from another process. Default 1,000 ms. */
  cancelPollMs?: number;
}

/**
 * Executes a built plan as a new run (or an existing run record) on an instance: records the run's start, drives
 * it (RunDriver) while keeping its heartbeat and watching storage for a cancel request, and records its end.
 */
export async function executePlan(pipeline: PipelineDefinition, options: ExecutePlanOptions): Promise<RunResult> {
  const instance = options.instance ?? Instance.ephemeral();
  const logger = options.logger ?? defaultLogger();
  const executor = options.executor ?? (await executorFromConfig(undefined));
  const runId = options.runId ?? randomUUID();
  await instance.init();
  const startedAt = Date.now();
  // Secrets in the run config (secret() values, values under secret keys) are stored and shown as `***`;
  // the in-memory plan keeps the real values for the ops and resources.
  const secrets = collectSecretValues(options.runConfig);
  await recordStart(instance, pipeline, runId, options, secrets, startedAt);
  const writer = new EventWriter(instance.storage);
  const errors = new Map<string, SerializedError>();
  const io = new CachingIOManager(executor.runIO?.(instance) ?? instance.io);
  const driver = new RunDriver({
    runId,
    plan: options.plan,
    pipeline,
    instance,
    io,
    executor,
    logger,
    signal: options.signal,
    state: options.state,
    storedEvents: options.storedEvents,
    sink: (raw) => {
      const event = redactEvent(raw, { secrets });
      if (event.type === 'STEP_FAILURE' || event.type === 'STEP_UP_FOR_RETRY') {
        if (event.stepKey !== undefined) errors.set(event.stepKey, event.data.error);
      }
      writer.write(event);
      try {
        options.onEvent?.(event);
      } catch (error) {
        logger.error({ err: error }, 'onEvent callback threw; ignoring');
      }
    },
  });
  const unwatch = watchRun(instance, runId, driver, options);
  let outcome: RunOutcome;
  try {
    outcome = await driver.run();
  } finally {
    unwatch();
    await writer.flush().catch((error) => logger.error({ err: error }, 'could not store the run events'));
  }
  await instance.storage.updateRun(runId, { status: outcome, endedAt: Date.now() });
  const result = buildRunResult(driver.state, pipeline.name, outcome, Date.now() - startedAt, errors, io);
  if (options.loadOutputs !== false) await result.loadOutputs().catch(() => {});
  await executor.dispose?.();
  return result;
}

/** Records the run as STARTED: a new record, or the status of an existing one (a launcher's, a resumed run's). */
async function recordStart(
  instance: Instance,
  pipeline: PipelineDefinition,
  runId: string,
  options: ExecutePlanOptions,
  secrets: readonly string[],
  now: number,
): Promise<void> {
  if (options.existingRun) {
    await instance.storage.updateRun(
      runId,
      options.state ? { status: 'STARTED' } : { status: 'STARTED', startedAt: now },
    );
    return;
  }
  const record: RunRecord = {
    runId,
    pipeline: pipeline.name,
    status: 'STARTED',
    runConfig: redactConfig(options.runConfig ?? {}, { secrets }),
    plan: redactPlan(options.plan, { secrets }),
    tags: redactValue(options.tags ?? {}, { secrets }),
    createdAt: now,
    startedAt: now,
    updatedAt: now,
  };
  if (options.parentRunId) record.parentRunId = options.parentRunId;
  if (options.rootRunId) record.rootRunId = options.rootRunId;
  await instance.storage.createRun(record);
}

/**
 * While a run is driven here: beats its heartbeat in storage (a run whose heartbeat stops while STARTED is orphaned:
 * `runs list`, `resume`) and polls for a cancel request from another process (`stepwise cancel` marks it
 * CANCELING). Returns the function that stops both.
 */
function watchRun(
  instance: Instance,
  runId: string,
  driver: RunDriver,
  options: Pick<ExecutePlanOptions, 'heartbeatMs' | 'cancelPollMs'>,
): () => void {
  const cancelPoll = setInterval(() => {
    instance.storage.getRunStatus(runId).then(
      (run) => run?.status === 'CANCELING' && driver.cancel('canceled by request'),
      () => {},
    );
  }, options.cancelPollMs ?? 1_000);
  cancelPoll.unref();
  const heartbeat = setInterval(() => {
    instance.storage.updateRun(runId, {}).catch(() => {});
  }, options.heartbeatMs ?? heartbeatInterval(instance));
  heartbeat.unref();
  return () => {
    clearInterval(cancelPoll);
    clearInterval(heartbeat);
  };
}

/** Beats often enough that run monitoring (`runMonitoring.heartbeatTimeoutMs`) never takes a live run for dead. */
function heartbeatInterval(instance: Instance): number {
  // The section belongs to @stepwise/daemon; read loosely here, core does not depend on it.
  const monitoring = instance.config?.sections?.runMonitoring as { heartbeatTimeoutMs?: number } | undefined;
  return Math.min(5_000, Math.floor((monitoring?.heartbeatTimeoutMs ?? 30_000) / 3));
}
