import {
  instantsBetween,
  localIso,
  type ScheduleDefinition,
  type ScheduleRunConfig,
  type ScheduleStore,
  type ScheduleTick,
  type TickOutcome,
} from '@stepwise/core';
import { ON_TIME_MS, planCatchup } from './catchup-plan.js';
import { effectiveState } from './schedule-state.js';

/** A new (or redefined) schedule's first pass looks back this far, so a cron call just after its instant runs it. */
export const FIRST_PASS_LOOKBACK_MS = 60_000;

export const SCHEDULE_TAG = 'stepwise/schedule';
export const SCHEDULED_AT_TAG = 'stepwise/scheduled-at';

/** Launches one tick's run; resolves to its id. Runs with the same `runKey` must be one run (see tick-launch.ts). */
export type LaunchTick = (launch: {
  def: ScheduleDefinition;
  tick: ScheduleTick;
  runConfig: ScheduleRunConfig;
  tags: Record<string, string>;
  runKey: string;
}) => Promise<string>;

export interface SchedulerPassOptions {
  store: ScheduleStore;
  schedules: Iterable<ScheduleDefinition>;
  launch: LaunchTick;
  /** The pass's clock reading (the daemon's injectable clock, or `schedule tick --now`). */
  now: number;
  /** This process, recorded as the claimer of its ticks. */
  owner: string;
  /** A claim older than this is taken over by another process (its claimer died). */
  leaseMs: number;
  /** Ids of the schedule's runs not yet finished, for its overlap policy. */
  activeRuns: (scheduleName: string) => Promise<string[]>;
}

export interface PassResult {
  schedule: string;
  scheduledAt: string;
  outcome: TickOutcome;
}

/**
 * One scheduler pass (docs/scheduler.md): for each running schedule, the instants between its cursor and `now`, each
 * claimed under its unique key, so daemons and `schedule tick` processes racing on one storage evaluate it once.
 */
export async function runSchedulerPass(options: SchedulerPassOptions): Promise<PassResult[]> {
  const results: PassResult[] = [];
  for (const def of options.schedules) {
    const row = await options.store.getSchedule(def.name);
    const state = effectiveState(def, row, options.now);
    if (state.status !== 'running') continue;
    const cursor = state.cursor ?? options.now - FIRST_PASS_LOOKBACK_MS;
    const { run, missed } = planCatchup(def, instantsBetween(def, cursor, options.now), options.now);
    for (const t of missed) await evaluate(options, def, t, async () => ({ status: 'MISSED' }), results);
    for (const t of run) await evaluate(options, def, t, (tick) => launchTick(options, def, tick), results);
    // Never backwards: a clock moved back does not re-open instants already passed.
    await options.store.putSchedule({ ...state, cursor: Math.max(cursor, options.now), updatedAt: options.now });
  }
  return results;
}

async function evaluate(
  options: SchedulerPassOptions,
  def: ScheduleDefinition,
  t: number,
  decide: (tick: ScheduleTick) => Promise<TickOutcome>,
  results: PassResult[],
): Promise<void> {
  const scheduledAt = new Date(t).toISOString();
  const { store, now, owner, leaseMs } = options;
  const claim = await store.claimTick({ schedule: def.name, scheduledAt, owner, now, leaseMs });
  if (!claim.claimed) return;
  const tick: ScheduleTick = {
    scheduleName: def.name,
    scheduledAt,
    localTime: localIso(def.timezone, t),
    timezone: def.timezone,
    catchup: now - t > ON_TIME_MS,
    attempt: claim.attempt,
  };
  const outcome = await decide(tick);
  if (await store.finishTick(def.name, scheduledAt, owner, outcome, now)) {
    results.push({ schedule: def.name, scheduledAt, outcome });
  }
}

async function launchTick(
  options: SchedulerPassOptions,
  def: ScheduleDefinition,
  tick: ScheduleTick,
): Promise<TickOutcome> {
  let runConfig: ScheduleRunConfig;
  try {
    const verdict = def.shouldRun ? await def.shouldRun(tick) : true;
    if (verdict === false) return { status: 'SKIPPED', reason: 'shouldRun returned false' };
    if (typeof verdict === 'object') return { status: 'SKIPPED', reason: `shouldRun: ${verdict.skip}` };
    runConfig = typeof def.runConfig === 'function' ? await def.runConfig(tick) : (def.runConfig ?? {});
  } catch (err) {
    return { status: 'FAILURE', error: `schedule '${def.name}': ${(err as Error).message ?? String(err)}` };
  }
  if (def.overlap === 'skip') {
    const [active] = await options.activeRuns(def.name);
    if (active !== undefined) return { status: 'SKIPPED', reason: `overlap: run ${active} is still in progress` };
  }
  const tags = { ...def.tags, [SCHEDULE_TAG]: def.name, [SCHEDULED_AT_TAG]: tick.scheduledAt };
  const runKey = `schedule:${def.name}:${tick.scheduledAt}`;
  try {
    const runId = await options.launch({ def, tick, runConfig, tags, runKey });
    return { status: 'SUCCESS', runIds: [runId] };
  } catch (err) {
    return { status: 'FAILURE', error: `launching the run failed: ${(err as Error).message ?? String(err)}` };
  }
}
