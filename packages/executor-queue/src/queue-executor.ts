import {
  type Executor,
  FsIOManager,
  type Instance,
  type IOManager,
  type LaunchContext,
  makeEvent,
  type PlanOutput,
  type PlanStep,
  type SerializedError,
  type StepLauncher,
  type StepTask,
  StepwiseError,
  type StepwiseEvent,
  serializeError,
} from '@stepwise/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { EventConsumer } from './event-consumer.js';
import { type InFlight, InFlightSteps } from './in-flight.js';
import { InlineValues, inlinedProducers } from './inline-values.js';
import { RedisKeys } from './keys.js';
import { OpDurations } from './op-durations.js';
import {
  IN_FLIGHT_PER_SLOT,
  MIN_IN_FLIGHT,
  type QueueExecutorOptions,
  type ResolvedQueueOptions,
  resolveQueueOptions,
} from './options.js';
import { createRedis, redactUrl } from './redis-connection.js';
import { RedisIOManager } from './redis-io-manager.js';
import { announceCanceled, deleteRunEvents, pingWithin } from './scripts.js';
import { encodeJobData, type IOLocation, parseJobData, type StepJobData, WIRE_VERSION } from './wire.js';
import { listWorkers } from './worker-registry.js';

/** The queue executor cannot reach its Redis. */
export class RedisUnavailableError extends StepwiseError {
  constructor(message: string) {
    super('REDIS_UNAVAILABLE', message);
  }
}

/** BullMQ forbids ':' in queue names; we also keep them printable. */
const QUEUE_NAME = /^[A-Za-z0-9_.-]+$/;

/** A ready step waiting for the next flush to be added to its queue. */
interface PendingJob {
  queue: string;
  data: StepJobData;
  delayMs: number;
}

/** Job states (and a failed read) in which a job may still run its steps: the watchdog keeps waiting. */
const JOB_STILL_THERE: ReadonlySet<string> = new Set(['active', 'waiting', 'delayed', 'prioritized', 'error']);

/** Most successors one job carries. */
const MAX_CHAIN = 64;

/** Most independent steps one job carries when the backlog decides (see StepJobData.batch). */
const MAX_BATCH = 16;

/** Most steps of quick ops one job carries, and about how long such a bundle should take, in ms. */
const MAX_QUICK_BATCH = 64;
const QUICK_BUNDLE_MS = 16;

/** How often the coordinator re-reads the worker registry for the slots serving each queue, in ms. */
const SLOTS_REFRESH_MS = 2_000;

/** The id of a step attempt's job: dedupes a re-dispatch of the same attempt (e.g. after coordinator recovery). */
export function jobIdOf(runId: string, stepKey: string, attempt: number): string {
  return `${runId}|${stepKey}|${attempt}`;
}

/**
 * Runs steps on `stepwise worker` processes: each ready step becomes a BullMQ job on the queue its op's `queue`
 * tag names; workers report the step's events on the run's Redis stream, which this coordinator reads in order.
 */
export class QueueExecutor implements Executor {
  readonly kind = 'queue';
  readonly options: ResolvedQueueOptions;
  private redisIO?: RedisIOManager;
  private commands?: Redis;
  /** Live worker slots serving the run's queues, as last read from the registry. */
  private slots = 0;
  /** Set by dispose(): the IO manager's connection is then only opened for loads (see ioConnection). */
  private disposed = false;
  private idleClose?: NodeJS.Timeout;
  /** Since this executor was made: BullMQ jobs added, and steps that rode in another step's job as a bundle. */
  readonly stats = { jobsAdded: 0, bundledSteps: 0 };

  constructor(options: QueueExecutorOptions = {}) {
    this.options = resolveQueueOptions(options);
  }

  /** Read by the coordinator at each dispatch: follows the workers' slots unless set (see maxStepsInFlight). */
  get maxConcurrent(): number {
    return this.options.maxStepsInFlight ?? Math.max(MIN_IN_FLIGHT, IN_FLIGHT_PER_SLOT * this.slots);
  }

  private connection(): Redis {
    this.commands ??= createRedis({ url: this.options.redisUrl, name: 'stepwise-coordinator' });
    return this.commands;
  }

  /** Outputs must be reachable from every worker: keep a shared-volume fs IO manager, else use Redis. */
  runIO(instance: Instance): IOManager {
    if (instance.io instanceof FsIOManager) return instance.io;
    this.redisIO ??= new RedisIOManager(() => this.ioConnection(), { prefix: this.options.prefix });
    return this.redisIO;
  }

  /**
   * The connection of the run's IO manager. A run's result loads its outputs through that manager after the run,
   * when this executor has been disposed: the connection then opens again and closes once idle for a second, so
   * that loading works and the process still exits.
   */
  private ioConnection(): Redis {
    const redis = this.connection();
    if (this.disposed) {
      clearTimeout(this.idleClose);
      this.idleClose = setTimeout(() => void this.dispose(), 1_000);
      this.idleClose.unref();
    }
    return redis;
  }

  async start(ctx: LaunchContext): Promise<StepLauncher> {
    const { options } = this;
    // An executor given to several runs in turn is disposed after each: a new run uses it in full again.
    this.disposed = false;
    clearTimeout(this.idleClose);
    const logger = ctx.logger.child({ runId: ctx.runId });
    const keys = new RedisKeys(options.prefix);
    const commands = this.connection();
    // Connecting takes a few round trips each: the three connections connect at once.
    const blocking = createRedis({ url: options.redisUrl, logger, name: 'stepwise-events' });
    const queueConnection = createRedis({ url: options.redisUrl, logger, name: 'stepwise-dispatch' });
    try {
      await pingWithin(commands, 10_000);
    } catch (error) {
      blocking.disconnect();
      queueConnection.disconnect();
      throw new RedisUnavailableError(
        `cannot reach Redis at ${redactUrl(options.redisUrl)} for the queue executor: ${(error as Error).message}; start Redis or set execution.queue.redisUrl / REDIS_URL`,
      );
    }
    const queues = new Map<string, Queue>();
    const queueFor = (name: string) => {
      let q = queues.get(name);
      if (!q) {
        q = new Queue(name, { connection: queueConnection, prefix: options.prefix });
        q.on('error', (error) => logger.warn({ err: error.message, queue: name }, 'queue error'));
        queues.set(name, q);
      }
      return q;
    };
    const runIO = this.runIO(ctx.instance);
    const io: IOLocation = runIO instanceof FsIOManager ? { kind: 'fs', dir: runIO.dir } : { kind: 'redis' };
    const inFlight = new InFlightSteps();
    // Steps that ride in another step's job (see chainFor), by key: the task and that job's id.
    const fused = new Map<string, { task: StepTask; carrier: string; queue: string }>();
    const chainNext = chainLinks(ctx.plan.steps);
    /**
     * The successors a worker can run right after `task` on its own: a chain where each step is the only one
     * downstream of the previous, reads only its output (or config), and goes to the same queue.
     */
    const chainFor = (task: StepTask, queue: string): StepTask[] => {
      const chain: StepTask[] = [];
      if (task.mappingKey !== undefined || chainNext.size === 0) return chain;
      let current: { key: string; outputs: readonly PlanOutput[] } = { key: task.planKey, outputs: task.outputs };
      while (chain.length < MAX_CHAIN) {
        if (current.outputs.some((o) => o.dynamic)) break;
        const next = chainNext.get(current.key);
        if (!next || (next.tags.queue ?? options.defaultQueue) !== queue) break;
        if (inFlight.has(next.key)) break;
        const inputs: StepTask['inputs'] = {};
        const from: string = current.key;
        const wired = Object.entries(next.inputs).every(([name, input]) => {
          if (input.from === 'config') inputs[name] = { from: 'config', value: input.value };
          else if (input.from === 'step' && input.step === from) {
            inputs[name] = { from: 'one', ref: { runId: ctx.runId, step: from, output: input.output } };
          } else return false;
          return true;
        });
        if (!wired) break;
        const successor: StepTask = {
          runId: ctx.runId,
          key: next.key,
          planKey: next.key,
          op: next.op,
          inputs,
          outputs: next.outputs,
          config: next.config,
          tags: next.tags,
        };
        if (next.retry) successor.retry = next.retry;
        chain.push(successor);
        current = next;
      }
      return chain;
    };
    // Worker slots serving each queue (from the registry): what decides whether ready steps share jobs (bundle).
    const slotsByQueue = new Map<string, number>();
    let slotsAt = 0;
    const runQueues = new Set(ctx.plan.steps.map((step) => step.tags.queue ?? options.defaultQueue));
    const refreshSlots = async () => {
      slotsAt = Date.now();
      const live = await listWorkers(commands, keys);
      slotsByQueue.clear();
      let slots = 0;
      for (const w of live) {
        if (w.draining) continue;
        for (const q of w.queues) slotsByQueue.set(q, (slotsByQueue.get(q) ?? 0) + w.concurrency);
        if (w.queues.some((q) => runQueues.has(q))) slots += w.concurrency;
      }
      this.slots = slots;
      return live;
    };
    const relearnRiders = async () => {
      for (const name of runQueues) {
        if (!QUEUE_NAME.test(name)) continue;
        const jobs = await queueFor(name).getJobs(['waiting', 'active', 'prioritized', 'delayed']);
        for (const job of jobs) {
          if (!job?.id || (job.data as { runId?: unknown } | undefined)?.runId !== ctx.runId) continue;
          let data: StepJobData;
          try {
            // Read back from Redis: trust only the shape this coordinator writes.
            data = parseJobData(job.data);
          } catch {
            continue;
          }
          for (const rider of [...(data.chain ?? []), ...(data.batch ?? [])]) {
            fused.set(rider.key, { task: rider, carrier: job.id, queue: name });
          }
        }
      }
    };
    // Small output values the workers sent with their events, to inline in the jobs of the steps that read them.
    const inlineValues = new InlineValues(ctx.runId, 64 * 1024 * 1024, undefined, inlinedProducers(ctx.plan.steps));
    const durations = new OpDurations();
    let closed = false;

    const emit = (event: StepwiseEvent) => ctx.receive(event);
    const engineEvent = (kind: string, message: string, details: Record<string, unknown>, stepKey?: string) =>
      emit(makeEvent('ENGINE_EVENT', ctx.runId, { kind, details }, { message, stepKey }));
    /** Ends a step this executor gave up on (never enqueued, timed out, lost, canceled) with a STEP_FAILURE. */
    const failStep = (stepKey: string, attempt: number, error: SerializedError, message?: string) => {
      inFlight.delete(stepKey);
      fused.delete(stepKey);
      emit(makeEvent('STEP_FAILURE', ctx.runId, { error }, { stepKey, attempt, ...(message ? { message } : {}) }));
    };

    const consumer = new EventConsumer({
      redis: blocking,
      commands,
      keys,
      runId: ctx.runId,
      logger,
      onValues: (values) => {
        for (const { key, attempt, bytes } of values) inlineValues.put(key, attempt, bytes);
      },
      onEvent: (event) => {
        let entry = event.stepKey === undefined ? undefined : inFlight.get(event.stepKey);
        const rider = event.stepKey === undefined ? undefined : fused.get(event.stepKey);
        if (!entry && rider && event.type === 'STEP_START' && event.attempt !== undefined) {
          // A chained step started before its coordinator saw it ready.
          const now = Date.now();
          entry = {
            task: rider.task,
            queue: rider.queue,
            jobId: rider.carrier,
            attempt: event.attempt,
            enqueuedAt: now,
            lastEventAt: now,
            fused: true,
          };
          inFlight.set(entry);
        }
        if (entry && event.attempt !== undefined && event.attempt >= entry.attempt) {
          entry.lastEventAt = Date.now();
          if (event.type === 'STEP_START') {
            // A newer attempt's outputs replace the older one's: never inline an older attempt's value.
            inlineValues.dropOlderThan(entry.task.key, event.attempt);
            if (event.attempt > entry.attempt) {
              // BullMQ found the job stalled and handed it to another worker: the first one is gone.
              engineEvent(
                'worker_lost',
                `worker ${entry.workerId ?? '(unknown)'} was lost while running step '${entry.task.key}' (attempt ${entry.attempt}); it runs again as attempt ${event.attempt} on ${event.workerId ?? 'another worker'}`,
                { lostWorker: entry.workerId ?? null, attempt: entry.attempt, newAttempt: event.attempt },
                entry.task.key,
              );
              entry.attempt = event.attempt;
            }
            inFlight.started(entry, Date.now());
            entry.workerId = event.workerId;
          }
          if (event.type === 'STEP_SUCCESS') durations.record(entry.task.op, event.data.durationMs);
          if (event.type === 'STEP_SUCCESS' || event.type === 'STEP_FAILURE' || event.type === 'STEP_UP_FOR_RETRY') {
            inFlight.delete(entry.task.key);
            fused.delete(entry.task.key);
          }
        }
        emit(event);
      },
    });
    // Before the first dispatch, and side by side: the slots (they decide bundling), the run's queues ready
    // (BullMQ loads its scripts on the connection), and on a fresh run the (empty) stream read once.
    const runQueuesReady = [...runQueues]
      .filter((name) => QUEUE_NAME.test(name))
      .map((name) =>
        queueFor(name)
          .waitUntilReady()
          .catch(() => {}),
      );
    await Promise.all([
      refreshSlots().catch(() => {}),
      ...runQueuesReady,
      ctx.resuming ? undefined : consumer.catchUp(),
    ]);
    // A resumed run: the steps riding in other steps' jobs (bundles, chains) are found in those jobs, so that
    // adopt() watches them through their carrier instead of enqueueing them a second time.
    if (ctx.resuming) await relearnRiders();
    // A resumed run's stream holds what happened while it had no coordinator: learn it before dispatching.
    if (ctx.resuming) await consumer.catchUp();
    consumer.start();

    // Ready steps are gathered for one tick and added with one addBulk per queue.
    let pending: PendingJob[] = [];
    const flushes = new Set<Promise<void>>();
    const flushing = () => Promise.all([...flushes]);
    const flush = () => {
      const batch = pending;
      pending = [];
      const byQueue = new Map<string, typeof batch>();
      for (const item of batch) {
        const list = byQueue.get(item.queue);
        if (list) list.push(item);
        else byQueue.set(item.queue, [item]);
      }
      const flushed = Promise.all(
        [...byQueue].map(async ([name, all]) => {
          const items = bundle(name, all);
          try {
            const jobs = items.map(({ data, delayMs }) => ({
              name: data.task.op,
              data: encodeJobData(data),
              opts: {
                jobId: jobIdOf(data.runId, data.task.key, data.attempt),
                delay: delayMs > 0 ? delayMs : undefined,
                priority: priorityOf(data.task.tags),
                removeOnComplete: true,
                removeOnFail: true,
                attempts: 1,
              },
            }));
            this.stats.jobsAdded += jobs.length;
            // One job (a chain's next step) goes faster through add than through addBulk's MULTI.
            const [only] = jobs;
            if (jobs.length === 1 && only) await queueFor(name).add(only.name, only.data, only.opts);
            else await queueFor(name).addBulk(jobs);
          } catch (error) {
            for (const { data } of items) {
              for (const task of [data.task, ...(data.batch ?? [])]) {
                failStep(
                  task.key,
                  data.attempt,
                  serializeError(error),
                  `could not enqueue step: ${(error as Error).message}`,
                );
              }
            }
          }
        }),
      ).then(() => {});
      // Flushes overlap: a big first batch must not hold back the chain steps that become ready meanwhile.
      flushes.add(flushed);
      void flushed.finally(() => flushes.delete(flushed));
    };

    const eligible = (i: PendingJob) =>
      i.delayMs <= 0 && i.data.attempt === 1 && !i.data.chain && i.data.task.tags.priority === undefined;

    /**
     * Bundles ready steps of one queue into shared jobs (StepJobData.batch), so that BullMQ's per-job cost (add,
     * fetch, lock, finish, and the coordinator's memory for all of it) is paid once per bundle, in two cases:
     *  - the queue's backlog (this run's steps enqueued and not started, these included) is far larger than its
     *    worker slots: the steps would wait for a slot anyway, and bundles of a quarter of a slot's share of the
     *    backlog still keep every slot busy to the end. The backlog, not this flush alone: in a wide run's steady
     *    state each flush holds the few steps that the last completions let in, behind thousands already waiting.
     *  - the steps' ops are known to be quick (OpDurations): BullMQ's cost per job is larger than such a step, so
     *    they go in bundles that take about QUICK_BUNDLE_MS by their ops' average (at most MAX_QUICK_BATCH steps);
     *    a worker runs a bundle's steps one after another and sends their events in one pipeline. Slots do not
     *    matter here, round trips and CPU do: on W3 (20 x 50 no-op steps) one job per worker process per flush gave
     *    0.8 of the bare BullMQ floor's steps/s on the CPU benchmark, bundles of up to 64 about 0.95.
     */
    const bundle = (queue: string, items: PendingJob[]): PendingJob[] => {
      const slots = slotsByQueue.get(queue) ?? 0;
      if (slots === 0 || items.length < 2) return items;
      const backlog = inFlight.backlog(queue);
      const deep = backlog >= 8 * slots ? Math.min(MAX_BATCH, Math.floor(backlog / (4 * slots))) : 1;
      const quick: PendingJob[] = [];
      const other: PendingJob[] = [];
      // The slowest quick op of the flush sizes its bundles.
      let slowest = 0;
      for (const item of items) {
        if (!eligible(item)) continue;
        const mean = durations.quickMeanMs(item.data.task.op);
        if (mean !== undefined) {
          quick.push(item);
          slowest = Math.max(slowest, mean, 0.01);
        } else other.push(item);
      }
      const quickSize = Math.min(MAX_QUICK_BATCH, Math.max(deep, Math.floor(QUICK_BUNDLE_MS / slowest)));
      const riders = new Set<PendingJob>();
      for (const [group, size] of [
        [quick, quickSize],
        [other, deep],
      ] as const) {
        for (let i = 0; size >= 2 && i < group.length; i += size) {
          const [carrier, ...rest] = group.slice(i, i + size) as [PendingJob, ...PendingJob[]];
          if (rest.length === 0) continue;
          const carrierJob = jobIdOf(ctx.runId, carrier.data.task.key, carrier.data.attempt);
          const inline = { ...carrier.data.inline };
          for (const r of rest) {
            riders.add(r);
            Object.assign(inline, r.data.inline);
            const entry = inFlight.get(r.data.task.key);
            if (entry) {
              entry.jobId = carrierJob;
              entry.fused = true;
            }
            fused.set(r.data.task.key, { task: r.data.task, carrier: carrierJob, queue });
          }
          carrier.data.batch = rest.map((r) => r.data.task);
          if (Object.keys(inline).length > 0) carrier.data.inline = inline;
        }
      }
      this.stats.bundledSteps += riders.size;
      return riders.size === 0 ? items : items.filter((i) => !riders.has(i));
    };

    const launch = (task: StepTask, attempt: number, delayMs: number, adoptStarted = false) => {
      if (closed) return;
      const queue = task.tags.queue ?? options.defaultQueue;
      if (!QUEUE_NAME.test(queue)) {
        const error = {
          name: 'ConfigError',
          message: `queue name '${queue}' is invalid: use letters, digits, '.', '_' and '-'`,
        };
        failStep(task.key, attempt, error, `invalid queue name '${queue}'`);
        return;
      }
      const now = Date.now();
      const rider = fused.get(task.key);
      if (rider && (adoptStarted || (attempt === 1 && delayMs <= 0))) {
        // Runs within its carrier's job (the step before it in a chain, or the head of its bundle): wait for its
        // events, the watchdog enqueues it if they never come. Resumed while running there: watch that job.
        if (adoptStarted || !inFlight.has(task.key)) {
          inFlight.set({
            task,
            queue,
            jobId: rider.carrier,
            attempt,
            enqueuedAt: now,
            lastEventAt: now,
            fused: true,
            ...(adoptStarted ? { startedAt: now } : {}),
          });
        }
        return;
      }
      fused.delete(task.key);
      const jobId = jobIdOf(ctx.runId, task.key, attempt);
      // Deterministic from the plan: a coordinator resuming the run rebuilds the same chains as the dead one.
      const chain = chainFor(task, queue);
      for (const successor of chain) fused.set(successor.key, { task: successor, carrier: jobId, queue });
      inFlight.set({
        task,
        queue,
        jobId,
        attempt,
        enqueuedAt: now + Math.max(0, delayMs),
        lastEventAt: now + Math.max(0, delayMs),
        ...(adoptStarted ? { startedAt: now } : {}),
      });
      // A started step of a previous coordinator is watched, not enqueued again: its job is still there (or
      // finished, its events on the stream); the watchdog reports it lost if neither.
      if (adoptStarted) return;
      // Launches of one pump share one flush.
      if (pending.length === 0) queueMicrotask(flush);
      pending.push({
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
          io,
          ...inlineValues.forTask(task),
          ...(chain.length > 0 ? { chain } : {}),
        },
      });
    };

    const watchdog = setInterval(() => {
      void watch().catch((error) => logger.warn({ err: (error as Error).message }, 'queue watchdog check failed'));
    }, options.watchIntervalMs);
    watchdog.unref();
    let watching = false;
    let aborting: Promise<void> | undefined;
    /** Steps in flight whose job is `jobId` (a carrier's own step and the steps riding in it). */
    const stepsOfJob = (jobId: string) => [...inFlight.values()].filter((f) => f.jobId === jobId);
    const watch = async () => {
      if (watching || inFlight.size === 0) return;
      watching = true;
      try {
        const now = Date.now();
        if (now - slotsAt >= SLOTS_REFRESH_MS) await refreshSlots();
        // One state read per carrier job, however many steps ride in it.
        const carrierStates = new Map<string, Promise<string>>();
        for (const f of [...inFlight.values()]) {
          if (!f.fused || f.startedAt !== undefined || now - f.enqueuedAt < options.lockDurationMs * 3) continue;
          let state = carrierStates.get(f.jobId);
          if (!state) {
            state = queueFor(f.queue)
              .getJobState(f.jobId)
              .catch(() => 'error');
            carrierStates.set(f.jobId, state);
          }
          if (JOB_STILL_THERE.has(await state)) {
            f.enqueuedAt = now;
            continue;
          }
          // Its carrier job ended without running it: enqueue it on its own.
          if (inFlight.get(f.task.key) !== f) continue;
          inFlight.delete(f.task.key);
          fused.delete(f.task.key);
          launch(f.task, f.attempt, 0);
        }
        const waiting = [...inFlight.values()].filter(
          (f) => !f.fused && f.startedAt === undefined && now > f.enqueuedAt,
        );
        if (waiting.length > 0) {
          const live = await refreshSlots();
          const served = new Set(live.flatMap((w) => (w.draining ? [] : w.queues)));
          for (const f of waiting) {
            const waited = now - f.enqueuedAt;
            if (!f.warnedNoWorker && !served.has(f.queue) && waited >= options.noWorkerGraceMs) {
              f.warnedNoWorker = true;
              engineEvent(
                'no_worker',
                `step '${f.task.key}' is waiting in queue '${f.queue}', which no live worker serves; start one with: stepwise worker -f FILE --queue ${f.queue}`,
                { queue: f.queue, waitedMs: waited },
                f.task.key,
              );
            }
            if (options.queueTimeoutMs > 0 && waited >= options.queueTimeoutMs && inFlight.get(f.task.key) === f) {
              const removed = await queueFor(f.queue)
                .remove(f.jobId)
                .catch(() => 0);
              if (removed === 0 && inFlight.get(f.task.key)?.startedAt !== undefined) continue;
              // The steps riding in the removed job time out with it.
              for (const g of removed === 1 ? stepsOfJob(f.jobId) : [f]) {
                const message = `step '${g.task.key}' waited ${Math.round(waited / 1000)} s in queue '${g.queue}' and no worker took it (queueTimeoutMs ${options.queueTimeoutMs}); start a worker with --queue ${g.queue}`;
                failStep(g.task.key, g.attempt, { name: 'QueueTimeoutError', message, code: 'QUEUE_TIMEOUT' }, message);
              }
            }
          }
        }
        // A started step silent for long: BullMQ re-queues stalled jobs itself; a job that vanished
        // (Redis lost its data) or that BullMQ failed would otherwise leave the run waiting forever.
        const silentFor = options.lockDurationMs * 3;
        for (const f of [...inFlight.values()]) {
          if (f.startedAt === undefined || now - f.lastEventAt < silentFor) continue;
          const state = await queueFor(f.queue)
            .getJobState(f.jobId)
            .catch(() => 'error');
          if (JOB_STILL_THERE.has(state)) {
            f.lastEventAt = now;
            continue;
          }
          if (inFlight.get(f.task.key) !== f) continue;
          const message =
            state === 'unknown'
              ? `the job of step '${f.task.key}' is gone from Redis (did Redis restart without persistence?); the step's outcome is unknown`
              : `the job of step '${f.task.key}' ended as '${state}' without reporting an outcome`;
          engineEvent('step_lost', message, { jobId: f.jobId, jobState: state }, f.task.key);
          failStep(f.task.key, f.attempt, { name: 'StepLostError', message, code: 'STEP_LOST' }, message);
        }
      } finally {
        watching = false;
      }
    };

    return {
      launch,
      // Same job id as the first dispatch: BullMQ ignores the add while that job still exists.
      adopt: (task, attempt, started) => launch(task, attempt, 0, started),
      abort(reason) {
        aborting = (async () => {
          await announceCanceled(commands, keys, ctx.runId, reason);
          await flushing();
          // One removal per job; the steps riding in a removed job are canceled with it.
          const jobs = new Map<string, InFlight[]>();
          for (const f of inFlight.values()) {
            const steps = jobs.get(f.jobId);
            if (steps) steps.push(f);
            else jobs.set(f.jobId, [f]);
          }
          for (const [jobId, steps] of jobs) {
            const removed = await queueFor((steps[0] as InFlight).queue)
              .remove(jobId)
              .catch(() => 0);
            if (removed !== 1) continue;
            for (const f of steps) {
              failStep(f.task.key, f.attempt, {
                name: 'StepAbortedError',
                message: `step '${f.task.key}' was canceled before it started`,
              });
            }
          }
        })().catch((error) => logger.warn({ err: (error as Error).message }, 'cancel: could not reach Redis'));
      },
      async close() {
        closed = true;
        clearInterval(watchdog);
        await flushing().catch(() => {});
        // A canceled run ends once its queued jobs are removed, not while the removal is still going on.
        await aborting;
        await consumer.stop();
        await deleteRunEvents(commands, keys, ctx.runId).catch(() => {});
        await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
        blocking.disconnect();
        await queueConnection.quit().catch(() => queueConnection.disconnect());
      },
    };
  }

  /** Closes the executor's shared connection (after the run and the loading of its outputs). */
  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.idleClose);
    const commands = this.commands;
    this.commands = undefined;
    await commands?.quit().catch(() => commands.disconnect());
  }
}

/**
 * The links U -> D of the plan where D is U's only dependent and U is D's only upstream (D not a mapped template):
 * the chains a worker may run on its own. Only such links are kept, so a wide plan holds no index of its steps.
 */
function chainLinks(steps: readonly PlanStep[]): Map<string, PlanStep> {
  const links = new Map<string, PlanStep>();
  for (const step of steps) {
    const [up] = step.upstream;
    if (step.upstream.length === 1 && !step.scope && up !== undefined && !links.has(up)) links.set(up, step);
  }
  if (links.size === 0) return links;
  const dependents = new Map<string, number>();
  for (const step of steps) {
    for (const up of step.upstream) if (links.has(up)) dependents.set(up, (dependents.get(up) ?? 0) + 1);
  }
  for (const [up, count] of dependents) if (count > 1) links.delete(up);
  return links;
}

/** BullMQ priority from the `priority` tag: higher tag values run first; no tag, no priority (the fast path). */
function priorityOf(tags: Record<string, string>): number | undefined {
  const raw = tags.priority;
  if (raw === undefined) return undefined;
  const n = Number.parseInt(raw, 10);
  if (!Number.isFinite(n)) return undefined;
  return Math.min(2_097_152, Math.max(1, 1_000_000 - n));
}
