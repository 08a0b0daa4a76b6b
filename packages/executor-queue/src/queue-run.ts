import {
  ConfigError,
  FsIOManager,
  type IOManager,
  type LaunchContext,
  makeEvent,
  type SerializedError,
  StepAbortedError,
  type StepLauncher,
  type StepTask,
  type StepwiseEvent,
  serializeError,
} from '@stepwise/core';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { applyBundles } from './bundle-jobs.js';
import { planBundles } from './bundle-policy.js';
import { Chains } from './chains.js';
import { Dispatcher, isQueueName, jobIdOf, type PendingJob } from './dispatch.js';
import { DispatchFence } from './dispatch-fence.js';
import { EventConsumer } from './event-consumer.js';
import { type InFlight, InFlightSteps } from './in-flight.js';
import { InlineValues, inlinedProducers } from './inline-values.js';
import { RedisKeys } from './keys.js';
import { LostJobs } from './lost-jobs.js';
import { lostStepEvents, workerLostEvent } from './lost-step.js';
import { OpDurations } from './op-durations.js';
import type { ResolvedQueueOptions } from './options.js';
import { announceCanceled, deleteRunEvents } from './scripts.js';
import { Watchdog } from './watchdog.js';
import { type IOLocation, WIRE_VERSION } from './wire.js';
import { WorkerSlots } from './worker-slots.js';

/** Since a QueueExecutor was made: BullMQ jobs added, and steps that went in another step's job as its peers. */
export interface QueueStats {
  jobsAdded: number;
  bundledSteps: number;
}

export interface QueueRunOptions {
  ctx: LaunchContext;
  options: ResolvedQueueOptions;
  /** The executor's shared, non-blocking connection. */
  commands: Redis;
  /** The run's own connections: one for XREAD BLOCK, one for BullMQ. Closed with the run. */
  blocking: Redis;
  queueConnection: Redis;
  /** The IO manager of the run's steps (QueueExecutor.runIO). */
  runIO: IOManager;
  stats: QueueStats;
  /** The live worker slots serving the run's queues, each time they are read. */
  onSlots: (slots: number) => void;
  now?: () => number;
}

/** A member of another step's job (see StepJobData): its task, and the queue and id of its lead's job. */
interface Member {
  task: StepTask;
  jobId: string;
  queue: string;
}

/**
 * One run on the queue executor: each ready step becomes a BullMQ job on the queue its op's `queue` tag names,
 * alone or as the lead of a bundle (its chain and its peers); workers report the steps' events on the run's Redis
 * stream, which the run reads in order (EventConsumer) and hands to the coordinator.
 */
export class QueueRun implements StepLauncher {
  private readonly ctx: LaunchContext;
  private readonly options: ResolvedQueueOptions;
  private readonly logger: Logger;
  private readonly keys: RedisKeys;
  private readonly now: () => number;
  private readonly io: IOLocation;
  private readonly inFlight = new InFlightSteps();
  /** Members of other steps' jobs, by step key. */
  private readonly members = new Map<string, Member>();
  /** Small output values the workers sent with their events, to inline in the jobs of the steps that read them. */
  private readonly inlineValues: InlineValues;
  private readonly durations = new OpDurations();
  private readonly chains: Chains;
  private readonly runQueues: Set<string>;
  private readonly slots: WorkerSlots;
  private readonly dispatcher: Dispatcher;
  private readonly consumer: EventConsumer;
  private readonly watchdog: Watchdog;
  private readonly lostJobs: LostJobs;
  private readonly fence: DispatchFence;
  private closed = false;
  private aborting?: Promise<void>;

  private constructor(private readonly run: QueueRunOptions) {
    const { ctx, options, commands, blocking } = run;
    this.ctx = ctx;
    this.options = options;
    this.logger = ctx.logger.child({ runId: ctx.runId });
    this.keys = new RedisKeys(options.prefix);
    this.now = run.now ?? Date.now;
    this.io = run.runIO instanceof FsIOManager ? { kind: 'fs', dir: run.runIO.dir } : { kind: 'redis' };
    this.fence = new DispatchFence(commands, this.keys, ctx.runId, ctx.epoch, (reason) => ctx.superseded(reason));
    this.inlineValues = new InlineValues(ctx.runId, 64 * 1024 * 1024, undefined, inlinedProducers(ctx.plan.steps));
    const queueOf = (step: { tags: Record<string, string> }) => step.tags.queue ?? options.defaultQueue;
    this.chains = new Chains(ctx.runId, ctx.plan.steps, queueOf);
    this.runQueues = new Set(ctx.plan.steps.map(queueOf));
    this.slots = new WorkerSlots(commands, this.keys, this.runQueues, this.now, run.onSlots);
    this.dispatcher = new Dispatcher({
      connection: run.queueConnection,
      prefix: options.prefix,
      logger: this.logger,
      bundle: (queue, jobs) => this.bundle(queue, jobs),
      onAddFailed: (jobs, error) => {
        for (const { data } of jobs) {
          for (const task of [data.task, ...(data.peers ?? [])]) {
            const message = `could not enqueue step: ${(error as Error).message}`;
            this.failStep(task.key, data.attempt, serializeError(error), message);
          }
        }
      },
      onAdded: (count) => {
        run.stats.jobsAdded += count;
      },
      onQueued: (jobs) => this.lostJobs.queued(jobs, this.now()),
      admit: () => this.fence.admit(),
    });
    this.consumer = new EventConsumer({
      redis: blocking,
      commands,
      keys: this.keys,
      runId: ctx.runId,
      logger: this.logger,
      onValues: (values) => {
        for (const { key, attempt, bytes } of values) this.inlineValues.put(key, attempt, bytes);
      },
      onEvent: (event) => this.onEvent(event),
    });
    this.lostJobs = new LostJobs({
      inFlight: this.inFlight,
      redis: commands,
      keys: this.keys,
      runId: ctx.runId,
      jobKey: (queue, jobId) => this.dispatcher.jobKey(queue, jobId),
      position: () => this.consumer.position,
      everyMs: options.lockDurationMs,
      lose: (f, vanished) => this.lose(f, vanished),
      relaunch: (f) => {
        // Its lead's job ended without running it: it goes in a job of its own.
        this.inFlight.delete(f.task.key);
        this.members.delete(f.task.key);
        this.launch(f.task, f.attempt, 0);
      },
    });
    this.watchdog = new Watchdog({
      inFlight: this.inFlight,
      options,
      dispatcher: this.dispatcher,
      slots: this.slots,
      now: this.now,
      logger: this.logger,
      lostJobs: this.lostJobs,
      failStep: (key, attempt, error, message) => this.failStep(key, attempt, error, message),
      engineEvent: (kind, message, details, stepKey) => this.engineEvent(kind, message, details, stepKey),
    });
  }

  /** Reads what the run needs before its first dispatch, and starts reading its events. */
  static async start(run: QueueRunOptions): Promise<QueueRun> {
    const queueRun = new QueueRun(run);
    await queueRun.prepare();
    return queueRun;
  }

  private async prepare(): Promise<void> {
    // The fence first: a live previous coordinator dispatches nothing after it, so the reads below see all it left.
    if (!(await this.fence.admit())) return;
    // Side by side: the slots (they decide bundling), the run's queues ready, and on a fresh run the (empty)
    // stream read once.
    const { resuming } = this.ctx;
    await Promise.all([
      this.slots.refresh().catch(() => {}),
      this.dispatcher.ready(this.runQueues),
      this.lostJobs.mark(),
      resuming ? undefined : this.consumer.catchUp(),
    ]);
    if (resuming) {
      // The members of other steps' jobs are found in those jobs, so that adopt() watches them through their
      // lead's job instead of enqueueing them a second time.
      for (const queue of this.runQueues) {
        for (const { task, jobId } of await this.dispatcher.unfinishedMembers(queue, this.ctx.runId)) {
          this.members.set(task.key, { task, jobId, queue });
        }
      }
      // The stream holds what happened while the run had no coordinator: learn it before dispatching.
      await this.consumer.catchUp();
    }
    this.consumer.start();
    this.watchdog.start();
  }

  private emit(event: StepwiseEvent): void {
    this.ctx.receive(event);
  }

  private engineEvent(kind: string, message: string, details: Record<string, unknown>, stepKey?: string): void {
    this.emit(makeEvent('ENGINE_EVENT', this.ctx.runId, { kind, details }, { message, stepKey }));
  }

  /** Ends a step this run gave up on (never enqueued, timed out, lost, canceled) with a STEP_FAILURE. */
  private failStep(stepKey: string, attempt: number, error: SerializedError, message?: string): void {
    this.inFlight.delete(stepKey);
    this.members.delete(stepKey);
    const meta = { stepKey, attempt, ...(message ? { message } : {}) };
    this.emit(makeEvent('STEP_FAILURE', this.ctx.runId, { error }, meta));
  }

  /** A step whose job is gone and whose outcome never came (LostJobs): it ends, or retries per its policy. */
  private lose(entry: InFlight, vanished: boolean): void {
    this.inFlight.delete(entry.task.key);
    this.members.delete(entry.task.key);
    const policy = entry.task.retry ?? this.ctx.pipeline.nodes.get(entry.task.planKey)?.op.retry;
    for (const event of lostStepEvents(this.ctx.runId, entry, policy, vanished)) this.emit(event);
  }

  private onEvent(event: StepwiseEvent): void {
    const { inFlight } = this;
    let entry = event.stepKey === undefined ? undefined : inFlight.get(event.stepKey);
    const member = event.stepKey === undefined ? undefined : this.members.get(event.stepKey);
    if (!entry && member && event.type === 'STEP_START' && event.attempt !== undefined) {
      // A chain member started before the coordinator saw it ready.
      const now = this.now();
      entry = { ...member, attempt: event.attempt, enqueuedAt: now, lastEventAt: now, member: true, checkedAt: now };
      inFlight.set(entry);
    }
    if (entry && event.attempt !== undefined && event.attempt >= entry.attempt) {
      entry.lastEventAt = this.now();
      if (event.type === 'STEP_START') {
        // A newer attempt's outputs replace the older one's: never inline an older attempt's value.
        this.inlineValues.dropOlderThan(entry.task.key, event.attempt);
        if (event.attempt > entry.attempt) {
          // BullMQ found the job stalled and handed it to another worker: the first one is gone.
          this.emit(workerLostEvent(this.ctx.runId, entry, event.attempt, event.workerId));
          entry.attempt = event.attempt;
        }
        inFlight.started(entry, this.now());
        entry.workerId = event.workerId;
      }
      if (event.type === 'STEP_SUCCESS') this.durations.record(entry.task.op, event.data.durationMs);
      if (event.type === 'STEP_SUCCESS' || event.type === 'STEP_FAILURE' || event.type === 'STEP_UP_FOR_RETRY') {
        inFlight.delete(entry.task.key);
        this.members.delete(entry.task.key);
      }
    }
    this.emit(event);
  }

  /** Applies the bundling policy to one queue's jobs of a flush: the peers go into their lead's job. */
  private bundle(queue: string, jobs: PendingJob[]): PendingJob[] {
    if (jobs.length < 2) return jobs;
    const candidates = jobs.map(({ data, delayMs }) => ({
      op: data.task.op,
      eligible: delayMs <= 0 && data.attempt === 1 && !data.chain && data.task.tags.priority === undefined,
    }));
    const bundles = planBundles(candidates, {
      slots: this.slots.of(queue),
      backlog: this.inFlight.backlog(queue),
      quickMeanMs: (op) => this.durations.quickMeanMs(op),
    });
    if (bundles.length === 0) return jobs;
    const left = applyBundles(this.ctx.runId, jobs, bundles, (task, jobId) => {
      const entry = this.inFlight.get(task.key);
      if (entry) {
        entry.jobId = jobId;
        entry.member = true;
      }
      this.members.set(task.key, { task, jobId, queue });
    });
    this.run.stats.bundledSteps += jobs.length - left.length;
    return left;
  }

  launch(task: StepTask, attempt: number, delayMs: number, adoptStarted = false): void {
    if (this.closed) return;
    const { inFlight, members } = this;
    const queue = task.tags.queue ?? this.options.defaultQueue;
    if (!isQueueName(queue)) {
      const error = new ConfigError(`the queue name '${queue}' of step '${task.key}'`, [
        { path: 'tags.queue', message: "use letters, digits, '.', '_' and '-'" },
      ]);
      this.failStep(task.key, attempt, serializeError(error), `invalid queue name '${queue}'`);
      return;
    }
    const now = this.now();
    const member = members.get(task.key);
    if (member && (adoptStarted || (attempt === 1 && delayMs <= 0))) {
      // Runs within its lead's job: wait for its events, the watchdog enqueues it if they never come. Resumed while
      // running there: watch that job.
      if (adoptStarted || !inFlight.has(task.key)) {
        const started = adoptStarted ? { startedAt: now } : {};
        inFlight.set({
          task,
          queue,
          jobId: member.jobId,
          attempt,
          enqueuedAt: now,
          lastEventAt: now,
          member: true,
          checkedAt: now,
          ...started,
        });
      }
      return;
    }
    members.delete(task.key);
    const jobId = jobIdOf(this.ctx.runId, task.key, attempt);
    const chain = this.chains.after(task, queue, (key) => inFlight.has(key));
    for (const next of chain) members.set(next.key, { task: next, jobId, queue });
    const enqueuedAt = now + Math.max(0, delayMs);
    inFlight.set({
      task,
      queue,
      jobId,
      attempt,
      enqueuedAt,
      lastEventAt: enqueuedAt,
      ...(adoptStarted ? { startedAt: now, checkedAt: now } : {}),
    });
    // A started step of a previous coordinator is watched, not enqueued again: its job is still there (or
    // finished, its events on the stream); the watchdog reports it lost if neither.
    if (adoptStarted) return;
    const { ctx } = this;
    this.dispatcher.submit({
      queue,
      delayMs,
      data: {
        v: WIRE_VERSION,
        runId: ctx.runId,
        pipeline: ctx.pipeline.name,
        fingerprint: ctx.plan.fingerprint,
        attempt,
        task,
        resources: ctx.plan.resources,
        io: this.io,
        ...this.inlineValues.forTask(task),
        ...(chain.length > 0 ? { chain } : {}),
      },
    });
  }

  /** Same job id as the first dispatch: BullMQ ignores the add while that job still exists. */
  adopt(task: StepTask, attempt: number, started: boolean): void {
    this.launch(task, attempt, 0, started);
  }

  abort(reason: string): void {
    this.aborting = this.cancel(reason).catch((error) =>
      this.logger.warn({ err: (error as Error).message }, 'cancel: could not reach Redis'),
    );
  }

  private async cancel(reason: string): Promise<void> {
    await announceCanceled(this.run.commands, this.keys, this.ctx.runId, reason);
    await this.dispatcher.flushing();
    // One removal per job; the members of a removed job are canceled with their lead.
    for (const [jobId, steps] of this.inFlight.byJob()) {
      const removed = await this.dispatcher.remove((steps[0] as InFlight).queue, jobId);
      if (removed !== 1) continue;
      for (const f of steps) {
        const error = new StepAbortedError(f.task.key, 'the run was canceled before the step started');
        this.failStep(f.task.key, f.attempt, serializeError(error));
      }
    }
  }

  async close(): Promise<void> {
    await this.end(true);
  }

  /** A newer coordinator has the run: its stream, jobs and values stay for that one. */
  release(): Promise<void> {
    this.fence.release();
    return this.end(false);
  }

  private async end(finished: boolean): Promise<void> {
    this.closed = true;
    this.watchdog.stop();
    await this.dispatcher.flushing().catch(() => {});
    // A canceled run ends once its queued jobs are removed, not while the removal is still going on.
    await this.aborting;
    await this.consumer.stop();
    if (finished) await deleteRunEvents(this.run.commands, this.keys, this.ctx.runId).catch(() => {});
    await this.dispatcher.close();
    const { blocking, queueConnection } = this.run;
    blocking.disconnect();
    await queueConnection.quit().catch(() => queueConnection.disconnect());
  }
}
