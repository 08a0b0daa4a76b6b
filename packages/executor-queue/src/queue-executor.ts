import { type Executor, FsIOManager, type Instance, type IOManager, type LaunchContext } from '@stepwise/core';
import type { Redis } from 'ioredis';
import { RedisUnavailableError } from './errors/index.js';
import {
  IN_FLIGHT_PER_SLOT,
  MIN_IN_FLIGHT,
  type QueueExecutorOptions,
  type ResolvedQueueOptions,
  resolveQueueOptions,
} from './options.js';
import { QueueRun, type QueueStats } from './queue-run.js';
import { createRedis, redactUrl } from './redis-connection.js';
import { RedisIOManager } from './redis-io-manager.js';
import { pingWithin } from './scripts.js';

/**
 * Runs steps on `stepwise worker` processes (see QueueRun, one per run): each ready step becomes a BullMQ job on
 * the queue its op's `queue` tag names; workers report the step's events on the run's Redis stream, which the
 * coordinator reads in order.
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
  /** Since this executor was made: BullMQ jobs added, and steps that went in another step's job as its peers. */
  readonly stats: QueueStats = { jobsAdded: 0, bundledSteps: 0 };

  /** @param clock the time of the run's timeouts and watchdog (default Date.now): tests move it. */
  constructor(
    options: QueueExecutorOptions = {},
    private readonly clock: { now: () => number } = { now: Date.now },
  ) {
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

  /**
   * Outputs must be reachable from every worker: an `io.fs` the instance configures is taken as a volume shared at the
   * same path by every machine; otherwise (no `io` in stepwise.yaml, or one that only this process sees) Redis.
   */
  runIO(instance: Instance): IOManager {
    if (instance.io instanceof FsIOManager && !instance.config?.ioDefaulted) return instance.io;
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

  async start(ctx: LaunchContext): Promise<QueueRun> {
    const { options } = this;
    // An executor given to several runs in turn is disposed after each: a new run uses it in full again.
    this.disposed = false;
    clearTimeout(this.idleClose);
    const logger = ctx.logger.child({ runId: ctx.runId });
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
    return QueueRun.start({
      ctx,
      options,
      commands,
      blocking,
      queueConnection,
      runIO: this.runIO(ctx.instance),
      stats: this.stats,
      now: this.clock.now,
      onSlots: (slots) => {
        this.slots = slots;
      },
    });
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
