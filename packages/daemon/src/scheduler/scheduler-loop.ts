import { type LoadedDefinitions, loadDefinitions } from '@stepwise/core';
import type { DaemonLoopDefinition } from '../daemon.js';
import { scheduleStore } from './schedule-state.js';
import { runSchedulerPass } from './scheduler-pass.js';
import { activeScheduleRuns, queuedTickLauncher } from './tick-launch.js';

/** The scheduler's pass interval in the daemon (stepwise.yaml's scheduler.tickIntervalMs is not read yet). */
export const SCHEDULER_INTERVAL_MS = 1_000;
/** A daemon's claim on a tick; another daemon takes the tick over once it has expired. */
export const DAEMON_TICK_LEASE_MS = 30_000;

/**
 * The daemon's scheduler loop for `stepwise daemon -f FILE`: each iteration is one scheduler pass at the daemon
 * clock's `now()`, so tests drive it with a clock they move by hand. Without `-f` there is nothing to schedule.
 */
export function schedulerLoop(file: string | undefined): DaemonLoopDefinition | undefined {
  if (file === undefined) return undefined;
  let defs: Promise<LoadedDefinitions> | undefined;
  return {
    name: 'scheduler',
    intervalMs: SCHEDULER_INTERVAL_MS,
    async iterate({ instance, daemonId, clock }) {
      defs ??= loadDefinitions(file);
      const loaded = await defs;
      await runSchedulerPass({
        store: scheduleStore(instance.storage),
        schedules: loaded.schedules.values(),
        launch: queuedTickLauncher(instance, loaded.file),
        activeRuns: activeScheduleRuns(instance),
        now: clock.now(),
        owner: daemonId,
        leaseMs: DAEMON_TICK_LEASE_MS,
      });
    },
  };
}
