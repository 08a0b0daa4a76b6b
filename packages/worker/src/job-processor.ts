import {
  FsIOManager,
  type LoadedDefinitions,
  makeEvent,
  type PipelineDefinition,
  pipelineToRun,
  refKey,
  type SerializedError,
  StepRefusedError,
  type StepwiseEvent,
  serializeError,
} from '@stepwise/core';
import {
  DeadLetters,
  type EventPublisher,
  markSucceeded,
  parseJobData,
  RedisIOManager,
  type RedisKeys,
  type StepJobData,
  succeededOf,
} from '@stepwise/executor-queue';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { JobIO, TurnValues } from './job-io.js';
import type { WorkerMetrics } from './metrics.js';
import type { StallGuard } from './stall-guard.js';
import type { RunControl } from './step-runner.js';
import { StepRunners } from './step-runners.js';
import { StepWatch } from './step-watch.js';

/** The events that end an attempt. */
const TERMINAL = new Set<StepwiseEvent['type']>(['STEP_SUCCESS', 'STEP_FAILURE', 'STEP_UP_FOR_RETRY']);

/** How often a job's peers re-check that this worker still holds the job's lock, in ms. */
const PEER_LOCK_CHECK_MS = 1_000;

export interface RunningStep {
  runId: string;
  stepKey: string;
  attempt: number;
  startedAt: number;
  controller: AbortController;
}

export interface JobProcessorDeps {
  definitions: LoadedDefinitions;
  /** For side commands (dead letters). */
  redis: Redis;
  /** Auto-pipelined connection of the publisher, also used for output values, so that they stay in order. */
  data: Redis;
  keys: RedisKeys;
  publisher: EventPublisher;
  workerId: string;
  logger: Logger;
  metrics?: WorkerMetrics;
  /** Adds a job (members this worker will not run, when it drains) to one of the queues it serves. */
  enqueue?: (queue: string, data: StepJobData) => Promise<void>;
  /** The clock of the peers' lock checks and of `RunningStep.startedAt`. Default Date.now. */
  now?: () => number;
  /** Where steps run (the worker's loop, a thread or process pool). Default: the worker's loop, 5 s grace. */
  runners?: StepRunners;
  /** Fails a job's steps instead of running them once their lock was lost to blocked loops too often. */
  stalls?: StallGuard;
}

/**
 * Turns one BullMQ job into step attempts, its lead's and its members': validates the payload, checks the code
 * matches the run's plan, executes each step through core's `executeStep`, and publishes their events before the
 * job completes.
 */
export class JobProcessor {
  readonly running = new Map<string, RunningStep>();
  /** Runs canceled while this worker lives (from the cancel channel). */
  readonly canceledRuns = new Set<string>();
  /** Set when the worker drains: it finishes the step it runs but starts no other member of its job. */
  draining = false;
  private readonly runners: StepRunners;
  private fsIO?: FsIOManager;
  private redisTarget?: { redisIO: RedisIOManager; values: TurnValues };
  private readonly deadLetters: DeadLetters;

  constructor(private readonly deps: JobProcessorDeps) {
    this.deadLetters = new DeadLetters(deps.redis, deps.keys);
    this.runners =
      deps.runners ??
      new StepRunners({
        isolation: 'none',
        poolSize: 1,
        workerId: deps.workerId,
        graceMs: 5_000,
        logger: deps.logger,
      });
  }

  /** Aborts the running steps of a canceled run. */
  cancelRun(runId: string): void {
    this.canceledRuns.add(runId);
    for (const step of this.running.values()) {
      if (step.runId === runId) step.controller.abort(new Error('the run was canceled'));
    }
  }

  /**
   * @param ownsJob resolves false once this worker lost the job's lock (it was presumed lost and the job handed
   *   to another worker): its chain then stops, so a stale attempt never feeds its successors.
   */
  async process(job: Job, queue: string, ownsJob: () => Promise<boolean> = async () => true): Promise<void> {
    const { deps } = this;
    let data: StepJobData;
    try {
      data = parseJobData(job.data);
    } catch (error) {
      await this.deadLetter(job, queue, (error as Error).message);
      return;
    }
    // A job BullMQ re-queued after its worker went silent is a new attempt.
    const attempt = data.attempt + (job.stalledCounter ?? 0);
    const { runId } = data;
    const stalled = job.stalledCounter ?? 0;
    deps.logger.debug({ runId, stepKey: data.task.key, attempt, jobId: job.id }, 'job taken');
    const refusal = await deps.stalls?.refusal(data, stalled);
    if (refusal) {
      deps.logger.error({ runId, stepKey: data.task.key, attempt }, refusal.message);
      this.failAll(data, attempt, stalled, serializeError(refusal));
      await deps.publisher.flush();
      return;
    }
    const pipeline = this.pipelineFor(data, attempt, stalled);
    if (pipeline) {
      const io = this.jobIO(data);
      io.succeeded = await this.succeededBefore(data, job.stalledCounter ?? 0);
      let outcome = await this.execute(data, pipeline, attempt, queue, io, ownsJob);
      // Locality: run the lead's chain, while its members' inputs are in memory here.
      // The job's lock covers them: if this worker dies, the job is re-run and so is the rest of the chain.
      const chainAttempt = 1 + (job.stalledCounter ?? 0);
      const chain = data.chain ?? [];
      for (const [i, next] of chain.entries()) {
        if (outcome !== 'SUCCESS' || this.canceledRuns.has(runId)) break;
        if (!(await ownsJob())) {
          deps.logger.warn(
            { runId, stepKey: next.key },
            'lost the job lock; leaving the rest of the chain to its new owner',
          );
          break;
        }
        if (this.draining && deps.enqueue) {
          // Draining: hand the rest of the chain to the other workers as a job of its own.
          const rest = chain.slice(i + 1);
          await deps.enqueue(queue, {
            ...data,
            attempt: 1,
            task: next,
            ...(rest.length > 0 ? { chain: rest } : { chain: undefined }),
          });
          break;
        }
        if (!io.hasInputsOf(next)) break;
        outcome = await this.execute({ ...data, task: next }, pipeline, chainAttempt, queue, io, ownsJob);
      }
      await this.runPeers(job, data, pipeline, chainAttempt, queue, ownsJob, io);
    }
    await deps.publisher.flush();
  }

  /**
   * The pipeline to run the job's steps with, or undefined when this worker refuses them (see pipelineToRun): a
   * refused job fails its lead and its peers, since none of them would run here (its chain never starts).
   */
  private pipelineFor(data: StepJobData, attempt: number, stalled: number): PipelineDefinition | undefined {
    const { deps } = this;
    const { runId } = data;
    try {
      return pipelineToRun({
        run: { runId, pipeline: data.pipeline, fingerprint: data.fingerprint, canceled: this.canceledRuns.has(runId) },
        pipelines: deps.definitions.pipelines,
        source: deps.definitions.source,
        runner: `worker ${deps.workerId}`,
      });
    } catch (refusal) {
      this.failAll(data, attempt, stalled, serializeError(refusal));
      return undefined;
    }
  }

  /** Fails the job's lead and peers with `error` (its chain never starts). */
  private failAll(data: StepJobData, attempt: number, stalled: number, error: SerializedError): void {
    const steps = [[data.task.key, attempt] as const, ...(data.peers ?? []).map((m) => [m.key, 1 + stalled] as const)];
    for (const [stepKey, n] of steps) {
      this.deps.publisher.publish(
        makeEvent(
          'STEP_FAILURE',
          data.runId,
          { error },
          { stepKey, attempt: n, workerId: this.deps.workerId, message: error.message },
        ),
      );
    }
  }

  /**
   * The job's peers (see StepJobData.peers): each runs whatever the others' outcome. The lock is checked at most
   * every {@link PEER_LOCK_CHECK_MS} (a round trip each): peers read nothing from this job, so a stale peer only
   * wastes work (its events and value lose to the newer attempt's).
   */
  /**
   * The steps of a job that a previous run of it (by a worker since lost) recorded as succeeded; none for a first
   * run. Redis unreachable: none, and they run again (at least once, as before).
   */
  private async succeededBefore(data: StepJobData, stalled: number): Promise<ReadonlySet<string>> {
    if (stalled === 0) return new Set();
    const keys = [data.task.key, ...(data.chain ?? []).map((t) => t.key), ...(data.peers ?? []).map((t) => t.key)];
    return succeededOf(this.deps.redis, this.deps.keys, data.runId, keys).catch(() => new Set<string>());
  }

  private async runPeers(
    job: Job,
    data: StepJobData,
    pipeline: PipelineDefinition,
    attempt: number,
    queue: string,
    ownsJob: () => Promise<boolean>,
    io: JobIO,
  ): Promise<void> {
    const { deps } = this;
    const peers = data.peers ?? [];
    const now = deps.now ?? Date.now;
    let checkedAt = now();
    for (const [i, peer] of peers.entries()) {
      const one: StepJobData = { ...data, attempt, task: peer, chain: undefined, peers: undefined };
      if (this.canceledRuns.has(data.runId)) {
        deps.publisher.publish(
          makeEvent(
            'STEP_FAILURE',
            data.runId,
            {
              error: serializeError(
                new StepRefusedError('RUN_CANCELED', `step '${peer.key}' was canceled before it started`),
              ),
            },
            { stepKey: peer.key, attempt, workerId: deps.workerId },
          ),
        );
        continue;
      }
      if (now() - checkedAt >= PEER_LOCK_CHECK_MS) {
        if (!(await ownsJob())) {
          deps.logger.warn({ runId: data.runId, jobId: job.id }, 'lost the job lock; leaving the rest of its peers');
          return;
        }
        checkedAt = now();
      }
      if (this.draining && deps.enqueue) {
        // Draining: the peers not started yet go back to the queue, each a job of its own.
        for (const rest of peers.slice(i)) await deps.enqueue(queue, { ...one, attempt: 1, task: rest });
        return;
      }
      await this.execute(one, pipeline, attempt, queue, io, ownsJob);
    }
  }

  private async execute(
    data: StepJobData,
    pipeline: PipelineDefinition,
    attempt: number,
    queue: string,
    io: JobIO,
    ownsJob: () => Promise<boolean>,
  ): Promise<string> {
    const { deps } = this;
    const { runId } = data;
    const stepKey = data.task.key;
    // A re-run bundle job: this step's success is already recorded, so it is not run (nor reported) again.
    if (io.succeeded.has(stepKey)) return 'SUCCESS';
    const controller = new AbortController();
    const slot = `${runId}\0${stepKey}\0${attempt}`;
    this.running.set(slot, { runId, stepKey, attempt, startedAt: (deps.now ?? Date.now)(), controller });
    const logger = deps.logger.child({ runId, stepKey, attempt });
    const labels = { queue, op: data.task.op };
    deps.metrics?.started(labels);
    const started = performance.now();
    let outcome = 'FAILURE';
    const stepStartedAt = (deps.now ?? Date.now)();
    const publish = (event: StepwiseEvent) => {
      if (event.type === 'STEP_OUTPUT') {
        const key = refKey({ runId, step: stepKey, output: event.data.output, mappingKey: event.data.mappingKey });
        const bytes = io.recordOutput(key);
        if (bytes) deps.publisher.publishValue(runId, { key, attempt, bytes });
      }
      // Sent ahead of the event, in its pipeline: a re-run of this job (its worker died before BullMQ
      // heard the job complete) then skips the step.
      if (event.type === 'STEP_SUCCESS')
        void deps.publisher.publishWrite((p) => markSucceeded(p, deps.keys, runId, stepKey));
      deps.publisher.publish(event);
      if (event.type === 'STEP_FAILURE') logger.warn({ err: event.data.error.message }, 'step failed');
    };
    // A step that ends after this worker's loop was blocked long enough to lose the job's lock: its ending is held
    // until the lock is checked (see StallGuard.settle), so that a stale attempt's success never counts.
    let held: StepwiseEvent[] | undefined;
    const emit = (event: StepwiseEvent) => {
      if (event.type === 'STEP_START') watch?.started();
      if (held) held.push(event);
      else if (TERMINAL.has(event.type) && deps.stalls?.atRisk(stepStartedAt)) held = [event];
      else publish(event);
    };
    let watch: StepWatch | undefined;
    try {
      const runner = this.runners.runnerFor(data.task);
      watch = new StepWatch({
        stepKey,
        cancel: controller.signal,
        timeout: this.runners.timeoutOf(data.task, pipeline),
        graceMs: this.runners.graceMs,
        onOverdue: (cause) => control.onOverdue?.(cause),
      });
      const control: RunControl = { signal: watch.signal };
      outcome = await runner.run(
        { task: data.task, attempt, pipeline, io: io.managerFor(data), resourceConfig: data.resources, logger, emit },
        control,
      );
    } catch (error) {
      // A bad isolation tag, say: the step fails, the worker goes on.
      const failure = serializeError(error);
      emit(
        makeEvent(
          'STEP_FAILURE',
          runId,
          { error: failure },
          { stepKey, attempt, workerId: deps.workerId, message: failure.message },
        ),
      );
    } finally {
      watch?.dispose();
      if (held && deps.stalls) {
        const verdict = await deps.stalls.settle(data, attempt, stepStartedAt, ownsJob).catch(() => 'owned' as const);
        if (verdict === 'owned') for (const event of held) publish(event);
        else {
          outcome = 'FAILURE';
          if (verdict !== 'lost') {
            const error = serializeError(verdict);
            const meta = { stepKey, attempt, workerId: deps.workerId, message: error.message };
            publish(makeEvent('STEP_FAILURE', runId, { error }, meta));
          }
        }
      }
      this.running.delete(slot);
      deps.metrics?.finished(labels, outcome, (performance.now() - started) / 1000);
    }
    return outcome;
  }

  /** The IO of a job's steps, to the job's shared volume or to Redis. */
  private jobIO(data: StepJobData): JobIO {
    const location = data.io;
    if (location.kind === 'fs') {
      if (!this.fsIO || this.fsIO.dir !== location.dir) this.fsIO = new FsIOManager(location.dir);
      return new JobIO(this.fsIO);
    }
    if (!this.redisTarget) {
      const redisIO = new RedisIOManager(this.deps.data, { prefix: this.deps.keys.prefix });
      this.redisTarget = { redisIO, values: new TurnValues(redisIO, this.deps.publisher) };
    }
    return new JobIO(this.redisTarget);
  }

  /** Where steps run; the worker reports its pools and abandoned steps from here. */
  get stepRunners(): StepRunners {
    return this.runners;
  }

  async teardown(): Promise<void> {
    await this.runners.close();
  }

  private async deadLetter(job: Job, queue: string, reason: string): Promise<void> {
    const { deps } = this;
    deps.metrics?.malformed(queue);
    deps.logger.error({ queue, jobId: job.id, reason }, 'malformed job; dead-lettered');
    await this.deadLetters
      .job(queue, job.id, reason, job.data)
      .catch((error: Error) => deps.logger.error({ err: error.message }, 'could not dead-letter the job'));
  }
}
