import { hostname } from 'node:os';
import { type LoadedDefinitions, loadDefinitions } from '@stepwise/core';
import {
  addStepJobs,
  createRedis,
  DEFAULT_PREFIX,
  defaultRedisUrl,
  EventPublisher,
  pingWithin,
  RedisKeys,
  redactUrl,
  removeWorker,
  subscribeToCancels,
  type WorkerInfo,
  writeHeartbeat,
} from '@stepwise/executor-queue';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { DEFAULT_ISOLATION, type Isolation } from './isolation.js';
import { JobProcessor } from './job-processor.js';
import { LoopLag } from './loop-lag.js';
import { WorkerMetrics } from './metrics.js';
import { StallGuard } from './stall-guard.js';
import { StepRunners } from './step-runners.js';

export interface StepwiseWorkerOptions {
  /** The definitions file to load (`.ts` or `.js`); or pass `definitions` already loaded. */
  file?: string;
  definitions?: LoadedDefinitions;
  /** Queues to serve. Default `['default']`. */
  queues?: string[];
  /** Steps run at once across all queues. Default 1. */
  concurrency?: number;
  /** Default `$REDIS_URL`, else redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** Must match the coordinator's `execution.queue.prefix`. Default `stepwise`. */
  prefix?: string;
  /** Shown by `stepwise workers` and recorded on step events. Default `<hostname>:<pid>`. */
  name?: string;
  /**
   * How long this worker's lock on a step lasts without renewal. A worker silent (killed, frozen, cut off) this
   * long loses its step to another worker. Default 30,000 ms; lower finds lost workers sooner but risks
   * re-running steps of a worker that is only slow to renew (e.g. a blocked event loop).
   */
  lockDurationMs?: number;
  /** How often this worker looks for stalled steps of lost workers. Default lockDurationMs / 2. */
  stalledIntervalMs?: number;
  /** Serve Prometheus metrics and /healthz on this port. Default: no server. */
  metricsPort?: number;
  /** On stop, how long running steps get to finish before the process gives up on them. Default 300,000 ms. */
  drainTimeoutMs?: number;
  /**
   * Where steps run: `none` on this process's event loop (no cost per step, but a CPU-bound step blocks lock
   * renewal and every other step), `thread` in a pool of worker threads, `process` in a pool of child processes
   * (a crash or a leak stays in the step's process), each pool of `concurrency` members that load the code and
   * set up resources once. An op tagged `isolation` overrides it. Default {@link DEFAULT_ISOLATION}.
   */
  isolation?: Isolation;
  /**
   * How long a step aborted (its run canceled, or past its timeout) gets to stop before its thread or process is
   * killed (with `none`: before it is abandoned). Default 5,000 ms.
   */
  cancelGraceMs?: number;
  /** Time limit of each step attempt, unless its op sets `timeoutMs`. Default: none. */
  stepTimeoutMs?: number;
  /**
   * Locks of one step lost to this worker's blocked event loop after which the worker taking its job again fails
   * the step (naming the fix) instead of running it. Default 2.
   */
  maxStalls?: number;
  logger?: Logger;
}

/**
 * A worker process's runtime: pulls step jobs from BullMQ queues, runs them through core's single step path and
 * reports their events on the runs' streams. Announces itself with heartbeats; drains on stop.
 */
export class StepwiseWorker {
  readonly id: string;
  readonly queues: string[];
  readonly concurrency: number;
  readonly isolation: Isolation;
  readonly logger: Logger;
  /** How late this process's event loop runs (see LoopLag). */
  readonly loopLag = new LoopLag();
  metricsPort?: number;
  private readonly options: StepwiseWorkerOptions;
  private readonly keys: RedisKeys;
  private readonly redisUrl: string;
  private connections: Redis[] = [];
  private workers: Worker[] = [];
  private queueHandles: Queue[] = [];
  private processor?: JobProcessor;
  private metrics?: WorkerMetrics;
  private heartbeat?: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private draining = false;
  private slots = 0;
  private readonly slotWaiters: Array<() => void> = [];

  constructor(options: StepwiseWorkerOptions) {
    this.options = options;
    this.queues = [...new Set(options.queues?.length ? options.queues : ['default'])];
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.isolation = options.isolation ?? DEFAULT_ISOLATION;
    this.id = options.name ?? `${hostname()}:${process.pid}`;
    this.keys = new RedisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.redisUrl = options.redisUrl ?? defaultRedisUrl();
    this.logger = (options.logger ?? pino({ name: 'stepwise-worker' })).child({ worker: this.id });
  }

  /** Loads the code, connects, and starts pulling steps. Resolves once the worker is serving. */
  async start(): Promise<void> {
    this.loopLag.start();
    const definitions =
      this.options.definitions ??
      (this.options.file
        ? await loadDefinitions(this.options.file)
        : (() => {
            throw new Error('StepwiseWorker needs `file` or `definitions`');
          })());
    const connect = (name: string, autoPipelining = false) => {
      const redis = createRedis({ url: this.redisUrl, logger: this.logger, name, autoPipelining });
      this.connections.push(redis);
      return redis;
    };
    const commands = connect('stepwise-worker');
    try {
      await pingWithin(commands, 10_000);
    } catch (error) {
      await this.closeConnections();
      throw new Error(
        `cannot reach Redis at ${redactUrl(this.redisUrl)}: ${(error as Error).message}; start Redis or pass --redis URL`,
      );
    }
    const data = connect('stepwise-data', true);
    const publisher = new EventPublisher(data, this.keys, (error) =>
      this.logger.warn({ err: (error as Error).message }, 'publishing step events failed; retrying'),
    );
    if (this.options.metricsPort !== undefined) {
      this.metrics = new WorkerMetrics({
        queueDepth: () => this.queueDepth(),
        health: () => ({
          status: this.draining ? 'draining' : commands.status === 'ready' ? 'ok' : 'redis-unavailable',
          worker: this.id,
          queues: this.queues,
          running: this.processor?.running.size ?? 0,
        }),
        loopLagMs: () => this.loopLag.readPeak(),
        pools: () => this.processor?.stepRunners.poolStats() ?? [],
      });
      this.metricsPort = await this.metrics.listen(this.options.metricsPort);
    }
    const lockDuration = this.options.lockDurationMs ?? 30_000;
    const runners = new StepRunners({
      isolation: this.isolation,
      poolSize: this.concurrency,
      file: definitions.file,
      workerId: this.id,
      graceMs: this.options.cancelGraceMs ?? 5_000,
      stepTimeoutMs: this.options.stepTimeoutMs,
      logger: this.logger,
      onKilled: (isolation) => this.metrics?.killed(isolation),
      onAbandoned: () => {
        this.metrics?.abandoned();
        void this.beat(commands);
      },
    });
    runners.start(definitions.pipelines.values());
    const processor = new JobProcessor({
      runners,
      stalls: new StallGuard({
        redis: commands,
        keys: this.keys,
        publisher,
        workerId: this.id,
        lockDurationMs: lockDuration,
        maxStalls: this.options.maxStalls ?? 2,
        loopLag: this.loopLag,
        logger: this.logger,
        metrics: this.metrics,
      }),
      definitions,
      redis: commands,
      data,
      keys: this.keys,
      publisher,
      workerId: this.id,
      logger: this.logger,
      metrics: this.metrics,
      enqueue: async (queue, data) => {
        const handle = this.queueHandles.find((q) => q.name === queue);
        if (handle) await addStepJobs(handle, [{ data, delayMs: 0 }]);
      },
    });
    this.processor = processor;

    const subscriber = connect('stepwise-cancel');
    await subscribeToCancels(subscriber, this.keys, (runId) => {
      this.logger.info({ runId }, 'run canceled; aborting its steps');
      processor.cancelRun(runId);
    });

    const gate = this.queues.length > 1;
    for (const queue of this.queues) {
      const worker = new Worker(
        queue,
        async (job, token) => {
          if (gate) await this.acquire();
          try {
            const owns = async () =>
              token === undefined || (await job.extendLock(token, lockDuration).catch(() => 0)) === 1;
            await processor.process(job, queue, owns);
          } finally {
            if (gate) this.release();
          }
        },
        {
          connection: connect(`stepwise-worker-${queue}`),
          prefix: this.keys.prefix,
          concurrency: this.concurrency,
          lockDuration,
          stalledInterval: this.options.stalledIntervalMs ?? Math.max(100, Math.floor(lockDuration / 2)),
          // Stalled steps are re-run as new attempts, however often workers die; never failed by BullMQ.
          maxStalledCount: 1_000_000,
          autorun: false,
          name: this.id,
        },
      );
      // A lock BullMQ could not renew, or a job it could not complete for want of its lock, is said with the
      // loop's lag: a lag near the lock duration means a step blocked the loop (see StallGuard).
      worker.on('error', (error) => {
        const lock = /lock/i.test(error.message);
        const lagMs = lock ? Math.round(this.loopLag.longestSince(Date.now() - lockDuration)) : undefined;
        this.logger.warn(
          { err: error.message, queue, ...(lock ? { loopLagMs: lagMs, lockDurationMs: lockDuration } : {}) },
          lock && (lagMs ?? 0) >= lockDuration / 2
            ? 'worker lost a job lock: its event loop was blocked; run CPU-bound ops with --isolation thread or process, or raise --lock-duration'
            : 'worker error',
        );
      });
      worker.on('lockRenewalFailed', (jobIds: string[]) =>
        this.logger.warn(
          { jobIds, queue, loopLagMs: Math.round(this.loopLag.longestSince(Date.now() - lockDuration)) },
          'could not renew job locks; their steps will be re-run by another worker',
        ),
      );
      this.workers.push(worker);
      this.queueHandles.push(new Queue(queue, { connection: commands, prefix: this.keys.prefix }));
    }
    await this.beat(commands);
    this.heartbeat = setInterval(() => void this.beat(commands), 2_000);
    this.heartbeat.unref();
    for (const worker of this.workers) void worker.run();
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    this.logger.info(
      {
        queues: this.queues,
        concurrency: this.concurrency,
        isolation: this.isolation,
        redis: redactUrl(this.redisUrl),
        file: definitions.source,
      },
      'worker started',
    );
  }

  /** Steps running now. */
  get running(): number {
    return this.processor?.running.size ?? 0;
  }

  /**
   * Drains: takes no new steps, lets running ones finish (up to drainTimeoutMs), then disconnects.
   * Resolves true when every step finished, false on timeout (their jobs will be re-run elsewhere).
   */
  async stop(): Promise<boolean> {
    if (this.draining) return true;
    this.draining = true;
    if (this.processor) this.processor.draining = true;
    this.logger.info({ running: this.running }, 'draining: finishing running steps, taking no new ones');
    const commands = this.connections[0];
    if (commands) await this.beat(commands);
    const timeoutMs = this.options.drainTimeoutMs ?? 300_000;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all(this.workers.map((w) => w.close())).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.processor?.teardown();
    this.loopLag.stop();
    if (commands) await removeWorker(commands, this.keys, this.id).catch(() => {});
    await Promise.all(this.queueHandles.map((q) => q.close().catch(() => {})));
    await this.metrics?.close();
    await this.closeConnections();
    this.logger.info({ drained }, 'worker stopped');
    return drained;
  }

  private async closeConnections(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
    this.connections = [];
  }

  private async beat(commands: Redis): Promise<void> {
    const info: WorkerInfo = {
      id: this.id,
      name: this.id,
      host: hostname(),
      pid: process.pid,
      queues: this.queues,
      concurrency: this.concurrency,
      running: [...(this.processor?.running.values() ?? [])].map(({ runId, stepKey, attempt, startedAt }) => ({
        runId,
        stepKey,
        attempt,
        startedAt,
      })),
      startedAt: this.startedAt,
      heartbeatAt: Date.now(),
      draining: this.draining,
      isolation: this.isolation,
      pools: this.processor?.stepRunners.poolStats() ?? [],
      loopLagMs: Math.round(this.loopLag.longestSince(Date.now() - 2_000)),
      abandoned: this.processor?.stepRunners.inline.abandoned ?? [],
    };
    await writeHeartbeat(commands, this.keys, info).catch((error: Error) =>
      this.logger.debug({ err: error.message }, 'heartbeat failed'),
    );
  }

  private async queueDepth(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const q of this.queueHandles) {
      const counts = await q.getJobCounts('wait', 'prioritized', 'delayed');
      out[q.name] = Object.values(counts).reduce((a, b) => a + b, 0);
    }
    return out;
  }

  private acquire(): Promise<void> {
    if (this.slots < this.concurrency) {
      this.slots++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private release(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.slots--;
  }
}
