import { cancelRun, type Instance, type LoadedDefinitions, safeRunId } from '@stepwise/core';
import type { Logger } from 'pino';
import { daemonSettings } from '../config.js';
import { createLauncher } from '../launchers/create-launcher.js';
import type { RunLauncher } from '../launchers/run-launcher.js';
import type { SchedulerPassOptions } from './scheduler-pass.js';
import { activeScheduleRuns, directTickLauncher, queuedTickLauncher } from './tick-launch.js';

export interface SchedulerContext {
  instance: Instance;
  /** The loaded definitions file: the runs' code location, used as loaded (not imported again per run). */
  definitions: LoadedDefinitions;
  /** This process, as the claimer of ticks and runs. */
  owner: string;
  leaseMs: number;
  logger: Logger;
  /** The daemon's launcher; without one (`schedule tick`), stepwise.yaml's `runLauncher` is made when first needed. */
  launcher?: RunLauncher;
}

/**
 * What a scheduler pass needs from an instance, the same for the daemon and `schedule tick`. Runs go through the run
 * queue when `runCoordinator.queued` is set, else are launched at once (docs/scheduler.md). `close()` releases a
 * launcher made here (the in-process one waits for its runs).
 */
export function schedulerPassContext(
  ctx: SchedulerContext,
): Omit<SchedulerPassOptions, 'schedules' | 'now'> & { close(): Promise<void> } {
  const { instance } = ctx;
  let made: Promise<RunLauncher> | undefined;
  const launcher = () => {
    if (ctx.launcher) return Promise.resolve(ctx.launcher);
    made ??= createLauncher(daemonSettings(instance.config).runLauncher, {
      instance,
      logger: ctx.logger,
      onRunEnded: () => {},
    });
    return made;
  };
  const store = instance.storage.schedules;
  if (!store) throw new Error('unreachable: scheduleStore() checks the storage first');
  return {
    store,
    owner: ctx.owner,
    leaseMs: ctx.leaseMs,
    launch: instance.config?.runCoordinator.queued
      ? queuedTickLauncher(instance, ctx.definitions)
      : directTickLauncher({
          instance,
          definitions: ctx.definitions,
          launcher,
          owner: ctx.owner,
          now: Date.now,
          logger: ctx.logger,
        }),
    activeRuns: activeScheduleRuns(instance),
    cancelRun: async (runId) => {
      await cancelRun(instance, runId);
    },
    runStored: async (runKey) => (await instance.storage.getRun(safeRunId(runKey))) !== undefined,
    close: async () => {
      if (made) await (await made).close();
    },
  };
}
