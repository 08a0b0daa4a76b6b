import { randomUUID } from 'node:crypto';
import { type Logger, pino } from 'pino';
import { collectSecretValues, redactConfig, redactEvent, redactPlan, redactValue } from '../config/redact.js';
import { validateRunConfig } from '../config/run-config.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import type { SerializedError, StepwiseEvent } from '../events/events.js';
import { Instance } from '../instance/instance.js';
import { CachingIOManager } from '../io/caching-io-manager.js';
import { buildPlan } from '../plan/build-plan.js';
import type { ExecutionPlan } from '../plan/plan.js';
import { selectSteps } from '../plan/select.js';
import { EventWriter } from '../storage/event-writer.js';
import type { RunRecord } from '../storage/run-storage.js';
import type { Executor } from './executor.js';
import { executorFromConfig } from './executor-registry.js';
import { RunCoordinator } from './run-coordinator.js';
import { buildRunResult, type RunResult } from './run-result.js';
import type { RunState } from './run-state.js';

export interface ExecuteOptions {
  /** Run config object (SPEC §3). Validated before anything runs. */
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
  /** How often the coordinator marks the run as alive in storage. Default 5,000 ms. */
  heartbeatMs?: number;
  /** How often storage is checked for a cancel request from another process. Default 1,000 ms. */
  cancelPollMs?: number;
}

/** A run in progress. */
export interface RunHandle {
  readonly runId: string;
  readonly result: Promise<RunResult>;
  /** Every event of the run, as it happens; ends when the run ends. Call before awaiting anything. */
  events(): AsyncIterableIterator<StepwiseEvent>;
  cancel(reason?: string): void;
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

interface HandleParts {
  runId: string;
  signal: AbortSignal;
  publish: (event: StepwiseEvent) => void;
}

/** Wires the async iterator, cancellation and the user's onEvent around a run body. */
export function startHandle(
  options: Pick<ExecuteOptions, 'runId' | 'signal' | 'onEvent' | 'logger'>,
  body: (parts: HandleParts) => Promise<RunResult>,
): RunHandle {
  const runId = options.runId ?? randomUUID();
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const subscribers = new Set<EventQueue>();
  const publish = (event: StepwiseEvent) => {
    for (const s of subscribers) s.push(event);
    if (options.onEvent) {
      try {
        options.onEvent(event);
      } catch (error) {
        (options.logger ?? defaultLogger()).error({ err: error }, 'onEvent callback threw; ignoring');
      }
    }
  };
  const result = (async () => {
    await Promise.resolve();
    return body({ runId, signal: controller.signal, publish });
  })();
  result.then(
    () => {
      for (const s of subscribers) s.end();
      options.signal?.removeEventListener('abort', onAbort);
    },
    (error) => {
      for (const s of subscribers) s.fail(error);
      options.signal?.removeEventListener('abort', onAbort);
    },
  );
  return {
    runId,
    result,
    events() {
      const queue = new EventQueue(() => subscribers.delete(queue));
      subscribers.add(queue);
      return queue;
    },
    cancel(reason = 'canceled by caller') {
      controller.abort(new Error(reason));
    },
  };
}

/** Executes a built plan as a new run (or an existing run record) on an instance. */
export async function executePlan(pipeline: PipelineDefinition, options: ExecutePlanOptions): Promise<RunResult> {
  const instance = options.instance ?? Instance.ephemeral();
  const logger = options.logger ?? defaultLogger();
  const executor = options.executor ?? (await executorFromConfig(undefined));
  const runId = options.runId ?? randomUUID();
  const { plan } = options;
  await instance.init();
  const now = Date.now();
  // Secrets in the run config (secret() values, values under secret keys) are stored and shown as `***`;
  // the in-memory plan keeps the real values for the ops and resources.
  const secrets = collectSecretValues(options.runConfig);
  if (options.existingRun) {
    await instance.storage.updateRun(
      runId,
      options.state ? { status: 'STARTED' } : { status: 'STARTED', startedAt: now },
    );
  } else {
    const record: RunRecord = {
      runId,
      pipeline: pipeline.name,
      status: 'STARTED',
      runConfig: redactConfig(options.runConfig ?? {}, { secrets }),
      plan: redactPlan(plan, { secrets }),
      tags: redactValue(options.tags ?? {}, { secrets }),
      createdAt: now,
      startedAt: now,
      updatedAt: now,
    };
    if (options.parentRunId) record.parentRunId = options.parentRunId;
    if (options.rootRunId) record.rootRunId = options.rootRunId;
    await instance.storage.createRun(record);
  }
  const writer = new EventWriter(instance.storage);
  const errors = new Map<string, SerializedError>();
  const io = new CachingIOManager(executor.runIO?.(instance) ?? instance.io);
  const coordinator = new RunCoordinator({
    runId,
    plan,
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
  // `stepwise cancel` from another process marks the run CANCELING in storage; notice it.
  const cancelPoll = setInterval(() => {
    instance.storage.getRunStatus(runId).then(
      (run) => run?.status === 'CANCELING' && coordinator.cancel('canceled by request'),
      () => {},
    );
  }, options.cancelPollMs ?? 1_000);
  cancelPoll.unref();
  // Marks the run as alive; a run whose heartbeat stops while STARTED is orphaned (`runs list`, `resume`).
  const heartbeat = setInterval(() => {
    instance.storage.updateRun(runId, {}).catch(() => {});
  }, options.heartbeatMs ?? 5_000);
  heartbeat.unref();
  let outcome: Awaited<ReturnType<RunCoordinator['run']>>;
  try {
    outcome = await coordinator.run();
  } finally {
    clearInterval(cancelPoll);
    clearInterval(heartbeat);
    await writer.flush().catch((error) => logger.error({ err: error }, 'could not store the run events'));
  }
  await instance.storage.updateRun(runId, { status: outcome, endedAt: Date.now() });
  const result = buildRunResult(coordinator.state, pipeline.name, outcome, Date.now() - now, errors, io);
  if (options.loadOutputs !== false) await result.loadOutputs().catch(() => {});
  await executor.dispose?.();
  return result;
}

let fallbackLogger: Logger | undefined;
function defaultLogger(): Logger {
  fallbackLogger ??= pino({ level: process.env.STEPWISE_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  return fallbackLogger;
}

/** An unbounded async queue of events for one `events()` iterator. */
class EventQueue implements AsyncIterableIterator<StepwiseEvent> {
  private readonly buffer: StepwiseEvent[] = [];
  private waiting?: { resolve: (r: IteratorResult<StepwiseEvent>) => void; reject: (e: unknown) => void };
  private done = false;
  private error: unknown;

  constructor(private readonly detach: () => void) {}

  push(event: StepwiseEvent): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: event, done: false });
    } else this.buffer.push(event);
  }

  end(): void {
    this.done = true;
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = undefined;
  }

  fail(error: unknown): void {
    this.error = error;
    this.done = true;
    this.waiting?.reject(error);
    this.waiting = undefined;
  }

  next(): Promise<IteratorResult<StepwiseEvent>> {
    const value = this.buffer.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.done) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<StepwiseEvent>> {
    this.done = true;
    this.detach();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StepwiseEvent> {
    return this;
  }
}
