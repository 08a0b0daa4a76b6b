import {
  decodeValue,
  encodeValue,
  executeStep,
  FsIOManager,
  type IOManager,
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
  addDeadLetter,
  type EncodedValue,
  type EventPublisher,
  inlineKey,
  MAX_INLINE_BYTES,
  parseJobData,
  RedisIOManager,
  type RedisKeys,
  type StepJobData,
} from '@stepwise/executor-queue';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WorkerMetrics } from './metrics.js';

/** How often a batch re-checks that this worker still holds its job's lock, in ms. */
const BATCH_LOCK_CHECK_MS = 1_000;

export interface RunningStep {
  runId: string;
  stepKey: string;
  attempt: number;
  startedAt: number;
  controller: AbortController;
}

/** What the steps of one job (its head, chain, bundle) share. */
interface JobOutputs {
  /** refKeys of the outputs produced so far. */
  produced: Set<string>;
  /** Small encoded values (at most MAX_INLINE_BYTES), sent with the events and read by later steps of the job. */
  small: Map<string, Buffer>;
  /** Values on their way to Redis, by refKey: a later step of the job that reads one waits for its write. */
  storing: Map<string, Promise<unknown>>;
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
  /** Adds a job (the rest of a chain this worker will not run) to one of the queues it serves. */
  enqueue?: (queue: string, data: StepJobData) => Promise<void>;
}

/**
 * Turns one BullMQ job into one step attempt: validates the payload, checks the code matches the run's plan,
 * executes the step through core's `executeStep`, and publishes its events before the job completes.
 */
export class JobProcessor {
  readonly running = new Map<string, RunningStep>();
  /** Runs canceled while this worker lives (from the cancel channel). */
  readonly canceledRuns = new Set<string>();
  /** Set when the worker drains: it finishes the step it runs but starts no chained successor. */
  draining = false;
  private readonly resources = new Map<string, ResourceManager>();
  private fsIO?: FsIOManager;
  private redisIO?: RedisIOManager;
  /** The values stored in this turn of the event loop, not sent yet: they go to Redis as one command. */
  private valueBatch?: { values: EncodedValue[]; sent: Promise<unknown> };

  constructor(private readonly deps: JobProcessorDeps) {}

  /** Aborts the running steps of a canceled run. */
  cancelRun(runId: string): void {
    this.canceledRuns.add(runId);
    for (const step of this.running.values()) {
      if (step.runId === runId) step.controller.abort(new Error('the run was canceled'));
    }
  }

  /**
   * @param ownsJob resolves false once this worker lost the job's lock (it was presumed lost and the job handed
   *   to another worker): a chain then stops, so a stale attempt never feeds its successors.
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
      const outputs: JobOutputs = { produced: new Set(), small: new Map(), storing: new Map() };
      const { produced } = outputs;
      let outcome = await this.execute(data, pipeline, attempt, queue, outputs);
      // Locality: run the chain of successors the coordinator attached, while their inputs are in memory here.
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
        const ready = Object.values(next.inputs).every(
          (input) =>
            input.from === 'config' ||
            (input.from === 'one' && produced.has(refKey(input.ref))) ||
            (input.from === 'many' && input.refs.every((r) => produced.has(refKey(r)))),
        );
        if (!ready) break;
        outcome = await this.execute({ ...data, task: next }, pipeline, chainAttempt, queue, outputs);
      }
      await this.runBatch(job, data, pipeline, chainAttempt, queue, ownsJob, outputs);
    }
    await deps.publisher.flush();
  }

  /**
   * The pipeline to run the job's steps with, or undefined when this worker refuses them (see pipelineToRun): a
   * refused job fails its head and every step bundled with it, since none of them would run here.
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
        ...(data.batch ?? []).map((m) => [m.key, 1 + stalled] as const),
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
   * The independent steps bundled with the head (see StepJobData.batch): each runs whatever the others' outcome.
   * The lock is checked at most every {@link BATCH_LOCK_CHECK_MS} (a round trip each): members read nothing from
   * this job, so a stale member only wastes work (its events and value lose to the newer attempt's).
   */
  private async runBatch(
    job: Job,
    data: StepJobData,
    pipeline: PipelineDefinition,
    attempt: number,
    queue: string,
    ownsJob: () => Promise<boolean>,
    outputs: JobOutputs,
  ): Promise<void> {
    const { deps } = this;
    const batch = data.batch ?? [];
    let checkedAt = Date.now();
    for (const [i, member] of batch.entries()) {
      const one: StepJobData = { ...data, attempt, task: member, chain: undefined, batch: undefined };
      if (this.canceledRuns.has(data.runId)) {
        deps.publisher.publish(
          makeEvent(
            'STEP_FAILURE',
            data.runId,
            {
              error: serializeError(
                new StepRefusedError('RUN_CANCELED', `step '${member.key}' was canceled before it started`),
              ),
            },
            { stepKey: member.key, attempt, workerId: deps.workerId },
          ),
        );
        continue;
      }
      if (Date.now() - checkedAt >= BATCH_LOCK_CHECK_MS) {
        if (!(await ownsJob())) {
          deps.logger.warn({ runId: data.runId, jobId: job.id }, 'lost the job lock; leaving the rest of the batch');
          return;
        }
        checkedAt = Date.now();
      }
      if (this.draining && deps.enqueue) {
        // Draining: the members not started yet go back to the queue, each a job of its own.
        for (const rest of batch.slice(i)) await deps.enqueue(queue, { ...one, attempt: 1, task: rest });
        return;
      }
      await this.execute(one, pipeline, attempt, queue, outputs);
    }
  }

  private async execute(
    data: StepJobData,
    pipeline: PipelineDefinition,
    attempt: number,
    queue: string,
    outputs: JobOutputs,
  ): Promise<string> {
    const { produced, small } = outputs;
    const { deps } = this;
    const { runId } = data;
    const stepKey = data.task.key;
    const controller = new AbortController();
    const slot = `${runId}\0${stepKey}\0${attempt}`;
    this.running.set(slot, { runId, stepKey, attempt, startedAt: Date.now(), controller });
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
          io: this.ioFor(data, outputs),
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
              produced.add(key);
              const bytes = small.get(key);
              if (bytes) deps.publisher.publishValue(runId, { key, attempt, bytes });
            }
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

  /**
   * Values go out in the publisher's pipelines ahead of the events that announce them, and a job ends only after
   * `publisher.flush()`: a step does not wait for Redis before the next step of its job (a chain's or a bundle's)
   * starts, so the steps of a bundle share pipelines and stream entries.
   */
  private ioFor(data: StepJobData, outputs: JobOutputs): IOManager {
    const { small, storing } = outputs;
    const location = data.io;
    const inline = data.inline;
    if (location.kind === 'fs') {
      if (!this.fsIO || this.fsIO.dir !== location.dir) this.fsIO = new FsIOManager(location.dir);
      return this.fsIO;
    }
    this.redisIO ??= new RedisIOManager(this.deps.data, { prefix: this.deps.keys.prefix });
    const redisIO = this.redisIO;
    // Stores do not wait for Redis's reply: the SET goes out with (before) the step's events.
    return {
      store: (ref, value, meta) => {
        try {
          const bytes = encodeValue(value);
          const key = refKey(ref);
          redisIO.checkSize(ref, bytes);
          if (bytes.length <= MAX_INLINE_BYTES) small.set(key, bytes);
          // Sent in the publisher's next pipeline, ahead of the events that announce the value: with every other
          // value of this turn of the event loop, in one command.
          let batch = this.valueBatch;
          if (!batch) {
            const values: EncodedValue[] = [];
            const write = redisIO.storeAllCommand(values);
            const sent = this.deps.publisher.publishWrite((pipeline) => {
              if (this.valueBatch?.values === values) this.valueBatch = undefined;
              write(pipeline);
            });
            batch = { values, sent };
            this.valueBatch = batch;
          }
          batch.values.push({ ref, bytes, attempt: meta?.attempt ?? data.attempt });
          storing.set(key, batch.sent);
          return Promise.resolve();
        } catch (error) {
          return Promise.reject(error);
        }
      },
      load: async (ref) => {
        const key = refKey(ref);
        // An output of an earlier step of this job: in memory if small, else read once its write is done.
        const held = small.get(key);
        if (held) return decodeValue(held, key);
        const b64 = ref.runId === data.runId ? inline?.[inlineKey(ref)] : undefined;
        if (b64 !== undefined) return decodeValue(Buffer.from(b64, 'base64'), key);
        await storing.get(key);
        return redisIO.load(ref);
      },
      has: (ref) => (storing.has(refKey(ref)) ? Promise.resolve(true) : redisIO.has(ref)),
    };
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
    let raw: string;
    try {
      raw = JSON.stringify(job.data) ?? 'undefined';
    } catch {
      raw = String(job.data);
    }
    await addDeadLetter(deps.redis, deps.keys, [
      'source',
      `queue:${queue}`,
      'jobId',
      String(job.id),
      'reason',
      reason,
      'data',
      raw.slice(0, 65_536),
    ]).catch((error: Error) => deps.logger.error({ err: error.message }, 'could not dead-letter the job'));
  }
}
