import { hostname } from 'node:os';
import { loadDefinitions, parsePositiveInt, UsageError, withInstance } from '@stepwise/core';
import { pino } from 'pino';
import { schedulerPassContext } from '../scheduler/pass-context.js';
import { findSchedule, scheduleStore, setScheduleStatus } from '../scheduler/schedule-state.js';
import { listSchedules, previewSchedule } from '../scheduler/schedule-views.js';
import { schedulerNow } from '../scheduler/scheduler-clock.js';
import { runSchedulerPass } from '../scheduler/scheduler-pass.js';

const print = (text: string) => process.stdout.write(`${text}\n`);
const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));

export function parseInstant(value: string, flag: string): number {
  const t = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(t)) {
    throw new UsageError(`${flag} must be an ISO-8601 instant such as 2026-03-08T07:00:00Z, got '${value}'`);
  }
  return t;
}

/** `stepwise schedule list`: every schedule of the file with its stored status, next and last tick. */
export async function scheduleListCommand(opts: { file: string; json?: boolean }): Promise<number> {
  const defs = await loadDefinitions(opts.file);
  return withInstance(async (instance) => {
    const entries = await listSchedules(scheduleStore(instance.storage), defs.schedules.values(), Date.now());
    if (opts.json) printJson(entries);
    else if (entries.length === 0) print(`'${opts.file}' exports no schedules`);
    for (const e of opts.json ? [] : entries) {
      const last = e.lastTick ? `${e.lastTick.scheduledAt} ${e.lastTick.status}` : 'none';
      print(
        `${e.name}  ${e.pipeline}  '${e.cron.join("' '")}' ${e.timezone}  ${e.status}  next ${e.nextTick ?? 'never'}  last ${last}`,
      );
    }
    return 0;
  });
}

/** `stepwise schedule preview NAME`: the next instants, UTC and local; needs no instance. */
export async function schedulePreviewCommand(
  name: string,
  opts: { file: string; count?: string; from?: string; json?: boolean },
): Promise<number> {
  const count = opts.count === undefined ? 10 : parsePositiveInt(opts.count, '--count');
  const from = opts.from === undefined ? Date.now() : parseInstant(opts.from, '--from');
  const def = findSchedule(await loadDefinitions(opts.file), name);
  const instants = previewSchedule(def, from, count);
  if (opts.json) printJson(instants);
  else for (const i of instants) print(`${i.utc}  ${i.local}`);
  return 0;
}

/** `stepwise schedule start|stop NAME`. */
export async function scheduleStatusCommand(
  status: 'running' | 'stopped',
  name: string,
  opts: { file: string },
): Promise<number> {
  const def = findSchedule(await loadDefinitions(opts.file), name);
  return withInstance(async (instance) => {
    await setScheduleStatus(scheduleStore(instance.storage), def, status, Date.now());
    print(`schedule '${name}' is ${status}`);
    return 0;
  });
}

/** `stepwise schedule ticks NAME`: the tick history, newest first. */
export async function scheduleTicksCommand(name: string, opts: { limit?: string; json?: boolean }): Promise<number> {
  const limit = opts.limit === undefined ? 20 : parsePositiveInt(opts.limit, '--limit');
  return withInstance(async (instance) => {
    const ticks = await scheduleStore(instance.storage).listTicks(name, limit);
    if (opts.json) {
      printJson(
        ticks.map((t) => ({
          scheduledAt: t.scheduledAt,
          status: t.status,
          runIds: t.runIds,
          reason: t.reason ?? t.error ?? null,
        })),
      );
    } else if (ticks.length === 0) print(`no ticks recorded for schedule '${name}'`);
    for (const t of opts.json ? [] : ticks) {
      const why = t.reason ?? t.error;
      print(
        `${t.scheduledAt}  ${t.status}${t.runIds.length ? `  runs ${t.runIds.join(',')}` : ''}${why ? `  ${why}` : ''}`,
      );
    }
    return 0;
  });
}

/** How long a `schedule tick` process holds a claim before another may take the tick over. */
const TICK_LEASE_MS = 60_000;

/** The CLI's logger: warnings and errors on stderr, so stdout stays the command's output. */
export const cliLogger = () =>
  pino({ name: 'stepwise-scheduler', level: process.env.STEPWISE_LOG_LEVEL ?? 'warn' }, pino.destination(2));

/** `stepwise schedule tick`: one scheduler pass (what cron calls), claiming ticks as the daemon does. */
export async function scheduleTickCommand(names: string[], opts: { file: string; now?: string }): Promise<number> {
  const given = opts.now === undefined ? undefined : parseInstant(opts.now, '--now');
  const defs = await loadDefinitions(opts.file);
  const schedules = names.length ? names.map((n) => findSchedule(defs, n)) : [...defs.schedules.values()];
  return withInstance(async (instance) => {
    scheduleStore(instance.storage);
    const context = schedulerPassContext({
      instance,
      definitions: defs,
      owner: `${hostname()}:${process.pid}`,
      leaseMs: TICK_LEASE_MS,
      logger: cliLogger(),
    });
    try {
      // Read after loading the file: the pass runs at the time it starts, not when the process did.
      const now = given ?? schedulerNow();
      for (const r of await runSchedulerPass({ ...context, schedules, now })) {
        const o = r.outcome;
        print(
          `${r.schedule} ${r.scheduledAt} ${o.status}${o.runIds?.length ? ` ${o.runIds.join(',')}` : ''}${o.reason || o.error ? `  ${o.reason ?? o.error}` : ''}`,
        );
      }
    } finally {
      await context.close();
    }
    return 0;
  });
}
