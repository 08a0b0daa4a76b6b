/** Scheduler passes driven in the test process at injected instants, on a real instance (SQLite unless given). */
import { fileURLToPath } from 'node:url';
import {
  Instance,
  type LoadedDefinitions,
  loadDefinitions,
  type ScheduleDefinition,
  type TickRecord,
} from '@stepwise/core';
import { InProcessLauncher, type PassResult, runSchedulerPass, schedulerPassContext } from '@stepwise/daemon';
import { pino } from 'pino';
import { makeHome } from './support.js';

export const POLICY_SCHEDULES = fileURLToPath(new URL('./fixtures/policy-schedules.ts', import.meta.url));

export interface Harness {
  instance: Instance;
  defs: LoadedDefinitions;
  /** One pass at `at` over the named schedules (or the given definitions). */
  pass(at: string, schedules: Array<string | ScheduleDefinition>): Promise<PassResult[]>;
  ticks(name: string): Promise<TickRecord[]>;
  /** `at status` of each tick, oldest first. */
  tickLines(name: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A harness on a new home with `yaml`. Runs launch at once through an in-process launcher (they run in this process)
 * unless the yaml sets `runCoordinator.queued`.
 */
export async function schedulerHarness(yaml = ''): Promise<Harness> {
  const instance = await Instance.local(makeHome(yaml));
  const defs = await loadDefinitions(POLICY_SCHEDULES);
  const logger = pino({ level: 'silent' });
  const launcher = new InProcessLauncher({ instance, logger, onRunEnded: () => {} });
  const context = schedulerPassContext({
    instance,
    definitions: defs,
    owner: 'test',
    leaseMs: 30_000,
    logger,
    launcher,
  });
  const find = (s: string | ScheduleDefinition) => {
    const def = typeof s === 'string' ? defs.schedules.get(s) : s;
    if (!def) throw new Error(`no schedule ${String(s)} in the fixture`);
    return def;
  };
  const ticks = async (name: string) => (await context.store.listTicks(name, 100_000)).reverse();
  return {
    instance,
    defs,
    pass: (at, schedules) => runSchedulerPass({ ...context, schedules: schedules.map(find), now: Date.parse(at) }),
    ticks,
    tickLines: async (name) => (await ticks(name)).map((t) => `${t.scheduledAt.slice(0, 16)} ${t.status}`),
    close: async () => {
      await launcher.close();
      await instance.close();
    },
  };
}
