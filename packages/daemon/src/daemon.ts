import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Instance } from '@stepwise/core';
import { type Logger, pino } from 'pino';
import { type Clock, systemClock } from './clock.js';
import { type DaemonConfig, daemonSettings, type RunMonitoringConfig } from './config.js';
import type { QueueLimits } from './dequeue-policy.js';
import { createLauncher } from './launchers/create-launcher.js';
import type { LauncherContext, RunLauncher } from './launchers/run-launcher.js';
import { DaemonLoop } from './loop.js';
import { monitorPass } from './monitor.js';
import { dequeuePass } from './run-queue.js';

/** A loop another package adds to the daemon (the scheduler of docs/scheduler.md). */
export interface DaemonLoopDefinition {
  name: string;
  /** Pause between passes; a function reads it from the instance (the scheduler's `tickIntervalMs`). */
  intervalMs: number | ((instance: Instance) => number);
  iterate(context: {
    instance: Instance;
    daemonId: string;
    clock: Clock;
    logger: Logger;
    launcher: RunLauncher;
  }): Promise<void>;
}

export interface DaemonOptions {
  instance: Instance;
  /** Loops to run. Default: run queue and monitor, plus every extra loop. */
  runQueue?: boolean;
  monitor?: boolean;
  /** Further loops (the scheduler's), each on its own interval. */
  loops?: readonly DaemonLoopDefinition[];
  /** Default: from stepwise.yaml's `runLauncher`. */
  launcher?: RunLauncher | ((context: LauncherContext) => RunLauncher);
  /** Default: stepwise.yaml's `runCoordinator.queued` (none: no limit). */
  queue?: Partial<QueueLimits & { dequeueIntervalMs: number }>;
  /** Default: stepwise.yaml's `runMonitoring`. */
  monitoring?: Partial<RunMonitoringConfig>;
  /** Default: stepwise.yaml's `daemon`. */
  heartbeat?: Partial<DaemonConfig>;
  clock?: Clock;
  logger?: Logger;
  /** Default: `host:pid:random`. */
  daemonId?: string;
}

/** A running daemon. */
export interface Daemon {
  readonly daemonId: string;
  readonly loops: readonly DaemonLoop[];
  /** Runs the run queue's next pass now. */
  wakeRunQueue(): void;
  /** Stops every loop after its current pass, closes the launcher and removes the heartbeat. */
  stop(): Promise<void>;
}

/**
 * Starts the daemon of docs/daemon.md on an instance: the run queue, run monitoring and any extra loops, each on its own
 * interval, and a heartbeat in storage (`stepwise daemon status`). Any number may share one storage.
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { instance } = options;
  await instance.init();
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? pino({ name: 'stepwise-daemon', level: process.env.STEPWISE_LOG_LEVEL ?? 'info' });
  const daemonId = options.daemonId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const config = instance.config;
  const queued = config?.runCoordinator.queued;
  const limits: QueueLimits = {
    maxConcurrentRuns: options.queue?.maxConcurrentRuns ?? queued?.maxConcurrentRuns ?? Number.POSITIVE_INFINITY,
    tagConcurrencyLimits: options.queue?.tagConcurrencyLimits ?? queued?.tagConcurrencyLimits ?? [],
  };
  const dequeueIntervalMs = options.queue?.dequeueIntervalMs ?? queued?.dequeueIntervalMs ?? 1_000;
  const settings = daemonSettings(config);
  const monitoring = { ...settings.runMonitoring, ...options.monitoring };
  const heartbeat = { ...settings.daemon, ...options.heartbeat };
  const loops: DaemonLoop[] = [];
  let runQueue: DaemonLoop | undefined;
  const launcherContext: LauncherContext = { instance, logger, onRunEnded: () => runQueue?.wake() };
  const launcher =
    typeof options.launcher === 'function'
      ? options.launcher(launcherContext)
      : (options.launcher ?? (await createLauncher(settings.runLauncher, launcherContext)));
  const context = { instance, daemonId, limits, launcher, clock, logger };
  if (options.runQueue !== false) {
    runQueue = new DaemonLoop({
      name: 'runQueue',
      intervalMs: dequeueIntervalMs,
      clock,
      logger,
      iterate: async () => {
        await dequeuePass(context);
      },
    });
    loops.push(runQueue);
  }
  // Submissions and run ends anywhere on the storage wake the run queue (PostgreSQL NOTIFY, SQLite's counter).
  const queueWatch = runQueue && instance.storage.watchRunQueue?.(() => runQueue?.wake());
  if (options.monitor !== false) {
    const monitorContext = { ...context, monitoring, daemonHeartbeat: heartbeat, onSlotFreed: () => runQueue?.wake() };
    loops.push(
      new DaemonLoop({
        name: 'monitor',
        intervalMs: monitoring.intervalMs,
        clock,
        logger,
        iterate: () => monitorPass(monitorContext),
      }),
    );
  }
  for (const extra of options.loops ?? []) {
    loops.push(
      new DaemonLoop({
        name: extra.name,
        intervalMs: typeof extra.intervalMs === 'function' ? extra.intervalMs(instance) : extra.intervalMs,
        clock,
        logger,
        iterate: () => extra.iterate({ instance, daemonId, clock, logger, launcher }),
      }),
    );
  }
  const startedAt = clock.now();
  const [host, pid] = [hostname(), process.pid];
  const beat = () =>
    instance.storage.putDaemonHeartbeat({
      daemonId,
      host,
      pid,
      startedAt,
      updatedAt: clock.now(),
      loops: Object.fromEntries(loops.map((l) => [l.name, { ...l.status }])),
    });
  // The first beat before any decision: a daemon that claims a run is always visible as alive.
  await beat();
  const heartbeatLoop = new DaemonLoop({
    name: 'heartbeat',
    intervalMs: heartbeat.heartbeatIntervalMs,
    clock,
    logger,
    iterate: beat,
  });
  for (const loop of loops) loop.start();
  heartbeatLoop.start();
  logger.info({ daemonId, loops: loops.map((l) => l.name), launcher: launcher.kind }, 'daemon started');
  let stopped: Promise<void> | undefined;
  return {
    daemonId,
    loops,
    wakeRunQueue: () => runQueue?.wake(),
    stop() {
      stopped ??= (async () => {
        await queueWatch?.close();
        await Promise.all(loops.map((l) => l.stop()));
        await heartbeatLoop.stop();
        await launcher.close();
        await instance.storage.deleteDaemonHeartbeat(daemonId).catch(() => {});
        logger.info({ daemonId }, 'daemon stopped');
      })();
      return stopped;
    },
  };
}
