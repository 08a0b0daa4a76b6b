import { type LoadedDefinitions, loadDefinitions } from '@stepwise/core';
import { daemonSettings } from '../config.js';
import type { DaemonLoopDefinition } from '../daemon.js';
import { schedulerPassContext } from './pass-context.js';
import { scheduleStore } from './schedule-state.js';
import { schedulerNow } from './scheduler-clock.js';
import { runSchedulerPass } from './scheduler-pass.js';

/** A daemon's claim on a tick; another daemon takes the tick over once it has expired. */
export const DAEMON_TICK_LEASE_MS = 30_000;

/**
 * The daemon's scheduler loop for `stepwise daemon -f FILE`: one scheduler pass every `scheduler.tickIntervalMs`
 * (stepwise.yaml, default 1 000) at the daemon clock's `now()` (or `STEPWISE_CLOCK_FILE`'s), so tests move time by
 * hand. Runs launch through the daemon's own launcher. Without `-f` there is nothing to schedule.
 */
export function schedulerLoop(file: string | undefined): DaemonLoopDefinition | undefined {
  if (file === undefined) return undefined;
  let defs: Promise<LoadedDefinitions> | undefined;
  return {
    name: 'scheduler',
    intervalMs: (instance) => daemonSettings(instance.config).scheduler.tickIntervalMs,
    async iterate({ instance, daemonId, clock, logger, launcher }) {
      defs ??= loadDefinitions(file);
      const loaded = await defs;
      scheduleStore(instance.storage);
      const context = schedulerPassContext({
        instance,
        definitions: loaded,
        owner: daemonId,
        leaseMs: DAEMON_TICK_LEASE_MS,
        logger,
        launcher,
      });
      await runSchedulerPass({ ...context, schedules: loaded.schedules.values(), now: schedulerNow(clock.now) });
    },
  };
}
