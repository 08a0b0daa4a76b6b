import { randomUUID } from 'node:crypto';
import { redactConfig, redactEvent, redactPlan, redactValue } from '../config/redact.js';
import { runConfigSecrets } from '../config/resolve-env.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { CoordinatorSupersededError } from '../errors/index.js';
import { makeEvent, type SerializedError, type StepwiseEvent } from '../events/events.js';
import { Instance } from '../instance/instance.js';
import { CachingIOManager } from '../io/caching-io-manager.js';
import type { ExecutionPlan } from '../plan/plan.js';
import { EventWriter } from '../storage/event-writer.js';
import type { RunRecord } from '../storage/run-storage.js';
import { type HeldLease, renewCoordinatorLease, takeCoordinatorLease } from './coordinator-lease.js';
import { defaultLogger } from './default-logger.js';
import type { ExecuteOptions } from './execute-pipeline.js';
import { executorFromConfig } from './executor-registry.js';
import { RunDriver, type RunResultStatus } from './run-driver.js';
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
  /** Resume: the run's coordinator lease, taken before its stored log was read. Default: taken here. */
  lease?: HeldLease;
  /**
   * How often the coordinator marks the run as alive in storage and renews its lease. Default: the lease's
   * (see coordinatorClocks).
   */
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
  const secrets = runConfigSecrets(options.runConfig);
  const lease = await recordStart(instance, pipeline, runId, options, secrets, startedAt);
  let supersededBy: string | undefined;
  const writer = new EventWriter(instance.storage, {
    fence: lease.fence,
    onSuperseded: (error) => supersede(error.message),
  });
  const errors = new Map<string, SerializedError>();
  const io = new CachingIOManager(executor.runIO?.(instance) ?? instance.io);
  const publish = (event: StepwiseEvent) => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      logger.error({ err: error }, 'onEvent callback threw; ignoring');
    }
  };
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
    epoch: lease.fence.epoch,
    sink: (raw) => {
      const event = redactEvent(raw, { secrets });
      if (event.type === 'STEP_FAILURE' || event.type === 'STEP_UP_FOR_RETRY') {
        if (event.stepKey !== undefined) errors.set(event.stepKey, event.data.error);
      }
      writer.write(event);
      publish(event);
    },
  });
  // Another coordinator took the run (a refused write, a lost renewal, a refused dispatch): this one stops at once.
  function supersede(reason: string): void {
    if (supersededBy !== undefined) return;
    supersededBy = reason;
    writer.stop();
    driver.supersede(reason);
  }
  const unwatch = watchRun(instance, runId, driver, lease, options, supersede);
  let status: RunResultStatus;
  try {
    status = await driver.run();
  } finally {
    unwatch();
    await writer.flush().catch((error) => logger.error({ err: error }, 'could not store the run events'));
  }
  if (supersededBy === undefined && status !== 'SUPERSEDED') {
    try {
      await instance.storage.updateRun(runId, { status, endedAt: Date.now() }, lease.fence);
    } catch (error) {
      if (!(error instanceof CoordinatorSupersededError)) throw error;
      supersede(error.message);
    }
  }
  if (supersededBy !== undefined) {
    status = 'SUPERSEDED';
    publish(await recordSuperseded(instance, runId, lease, supersededBy));
  }
  const result = buildRunResult(driver.state, pipeline.name, status, Date.now() - startedAt, errors, io);
  if (options.loadOutputs !== false) await result.loadOutputs().catch(() => {});
  await executor.dispose?.();
  return result;
}

/**
 * The superseded coordinator's last word, the one write it makes without its fence: an ENGINE_EVENT that says it
 * stopped and why (it changes no step and no run status).
 */
async function recordSuperseded(
  instance: Instance,
  runId: string,
  lease: HeldLease,
  reason: string,
): Promise<StepwiseEvent> {
  const { owner, epoch } = lease.lease;
  const event = makeEvent(
    'ENGINE_EVENT',
    runId,
    { kind: 'coordinator_superseded', details: { epoch, host: owner.host, pid: owner.pid } },
    { message: `coordinator pid ${owner.pid} on ${owner.host} (epoch ${epoch}) stopped: ${reason}` },
  );
  await instance.storage.appendEvents([event]).catch(() => {});
  return event;
}

/**
 * Records the run as STARTED: a new record, or the status of an existing one (a launcher's, a resumed run's), under
 * the run's coordinator lease, which it returns.
 */
async function recordStart(
  instance: Instance,
  pipeline: PipelineDefinition,
  runId: string,
  options: ExecutePlanOptions,
  secrets: readonly string[],
  now: number,
): Promise<HeldLease> {
  if (options.existingRun) {
    const lease = options.lease ?? (await takeCoordinatorLease(instance, runId));
    const patch = options.state ? { status: 'STARTED' as const } : { status: 'STARTED' as const, startedAt: now };
    await instance.storage.updateRun(runId, patch, lease.fence);
    return lease;
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
  return takeCoordinatorLease(instance, runId);
}

/**
 * While a run is driven here: beats its heartbeat in storage and renews its lease (a run whose heartbeat stops while
 * STARTED is orphaned: `runs list`, `resume`; a lost renewal means another coordinator took it: `supersede`), and
 * polls for a cancel request from another process (`stepwise cancel` marks it CANCELING). Returns the function that
 * stops both.
 */
function watchRun(
  instance: Instance,
  runId: string,
  driver: RunDriver,
  lease: HeldLease,
  options: Pick<ExecutePlanOptions, 'heartbeatMs' | 'cancelPollMs'>,
  supersede: (reason: string) => void,
): () => void {
  const cancelPoll = setInterval(() => {
    instance.storage.getRunStatus(runId).then(
      (run) => run?.status === 'CANCELING' && driver.cancel('canceled by request'),
      () => {},
    );
  }, options.cancelPollMs ?? 1_000);
  cancelPoll.unref();
  const { storage } = instance;
  const beat = async () => {
    if (!(await renewCoordinatorLease(storage, lease))) {
      const newer = await storage.getLease(runId).catch(() => undefined);
      const by = newer ? ` by pid ${newer.owner.pid} on ${newer.owner.host} (epoch ${newer.epoch})` : '';
      supersede(`its lease (epoch ${lease.fence.epoch}) was taken${by}`);
      return;
    }
    await storage.updateRun(runId, {}, lease.fence);
  };
  const heartbeat = setInterval(() => {
    beat().catch((error) => {
      if (error instanceof CoordinatorSupersededError) supersede(error.message);
    });
  }, options.heartbeatMs ?? lease.heartbeatMs);
  heartbeat.unref();
  return () => {
    clearInterval(cancelPoll);
    clearInterval(heartbeat);
  };
}
