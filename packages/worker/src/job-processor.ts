import {
  executeStep,
  FsIOManager,
  type LoadedDefinitions,
  makeEvent,
  type PipelineDefinition,
  pipelineToRun,
  ResourceManager,
  refKey,
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
  private readonly resources = new Map<string, ResourceManager>();
  private fsIO?: FsIOManager;
  private redisTarget?: { redisIO: RedisIOManager; values: TurnValues };
  private readonly deadLetters: DeadLetters;

  constructor(private readonly deps: JobProcessorDeps) {
    this.deadLetters = new DeadLetters(deps.redis, deps.keys);
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
    const pipeline = this.pipelineFor(data, attempt, job.stalledCounter ?? 0);
    if (pipeline) {
      const io = this.jobIO(data);
      io.succeeded = await this.succeededBefore(data, job.stalledCounter ?? 0);
      let outcome = await this.execute(data, pipeline, attempt, queue, io);
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
        outcome = await this.execute({ ...data, task: next }, pipeline, chainAttempt, queue, io);
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
      const error = serializeError(refusal);
      const steps = [
        [data.task.key, attempt] as const,
        ...(data.peers ?? []).map((m) => [m.key, 1 + stalled] as const),
      ];
      for (const [stepKey, n] of steps) {
        deps.publisher.publish(
          makeEvent(
            'STEP_FAILURE',
            runId,
            { error },
            { stepKey, attempt: n, workerId: deps.workerId, message: error.message },
          ),
        );
      }
      return undefined;
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
      await this.execute(one, pipeline, attempt, queue, io);
    }
  }

  private async execute(
    data: StepJobData,
    pipeline: PipelineDefinition,
    attempt: number,
    queue: string,
    io: JobIO,
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
    try {
      const result = await executeStep(
        data.task,
        attempt,
        {
          pipeline,
          io: io.managerFor(data),
          resources: this.resourcesFor(pipeline, logger),
          logger,
          workerId: deps.workerId,
        },
        {
          signal: controller.signal,
          resourceConfig: data.resources,
          emit: (event: StepwiseEvent) => {
            if (event.type === 'STEP_OUTPUT') {
              const key = refKey({
                runId,
                step: stepKey,
                output: event.data.output,
                mappingKey: event.data.mappingKey,
              });
              const bytes = io.recordOutput(key);
              if (bytes) deps.publisher.publishValue(runId, { key, attempt, bytes });
            }
            // Sent ahead of the event, in its pipeline: a re-run of this job (its worker died before BullMQ
            // heard the job complete) then skips the step.
            if (event.type === 'STEP_SUCCESS')
              void deps.publisher.publishWrite((p) => markSucceeded(p, deps.keys, runId, stepKey));
            deps.publisher.publish(event);
            if (event.type === 'STEP_FAILURE') logger.warn({ err: event.data.error.message }, 'step failed');
          },
        },
      );
      outcome = result.status;
    } finally {
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

  private resourcesFor(pipeline: PipelineDefinition, logger: Logger): ResourceManager {
    let manager = this.resources.get(pipeline.name);
    if (!manager) {
      manager = new ResourceManager(pipeline, logger);
      this.resources.set(pipeline.name, manager);
    }
    return manager;
  }

  async teardown(): Promise<void> {
    for (const manager of this.resources.values()) await manager.teardown();
    this.resources.clear();
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
