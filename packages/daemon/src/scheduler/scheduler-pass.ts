import {
  instantsBetween,
  jitterDelayMs,
  localIso,
  type ScheduleDefinition,
  type ScheduleRunConfig,
  type ScheduleState,
  type ScheduleStore,
  type ScheduleTick,
  type TickOutcome,
} from '@stepwise/core';
import { ON_TIME_MS, planCatchup } from './catchup-plan.js';
import { faultPoint } from './fault-points.js';
import { OverlapGuard } from './overlap.js';
import { effectiveState } from './schedule-state.js';

/** A new (or redefined) schedule's first pass looks back this far, so a cron call just after its instant runs it. */
export const FIRST_PASS_LOOKBACK_MS = 60_000;

/** Schedules a pass evaluates at once (each schedule's own instants stay in order). */
export const PASS_CONCURRENCY = 8;

export const SCHEDULE_TAG = 'stepwise/schedule';
export const SCHEDULED_AT_TAG = 'stepwise/scheduled-at';

/** The run key of a tick (unique in storage: the run's id is made from it). */
export const tickRunKey = (schedule: string, scheduledAt: string) => `schedule:${schedule}:${scheduledAt}`;

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
  /** Ids of the schedule's runs not yet finished, oldest first, for its overlap policy. */
  activeRuns: (scheduleName: string) => Promise<string[]>;
  /** Cancels a run (overlap `cancel-other`). */
  cancelRun: (runId: string) => Promise<void>;
  /** Whether the run of a run key is stored: a tick taken over finishes as the run its dead claimer stored. */
  runStored: (runKey: string) => Promise<boolean>;
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
  // One read of every row per pass, not one per schedule.
  const rows = new Map((await options.store.listSchedules()).map((row) => [row.name, row]));
  const schedules = [...options.schedules];
  // A few schedules at once: a networked storage (PostgreSQL) waits on round trips, not on this process.
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < schedules.length; i = next++) {
      const def = schedules[i] as ScheduleDefinition;
      const state = effectiveState(def, rows.get(def.name), options.now);
      if (state.status === 'running') await passOfSchedule(options, def, state, results);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PASS_CONCURRENCY, schedules.length) }, worker));
  const order = new Map(schedules.map((d, i) => [d.name, i]));
  return results.sort(
    (a, b) => (order.get(a.schedule) ?? 0) - (order.get(b.schedule) ?? 0) || a.scheduledAt.localeCompare(b.scheduledAt),
  );
}

async function passOfSchedule(
  options: SchedulerPassOptions,
  def: ScheduleDefinition,
  state: ScheduleState,
  results: PassResult[],
): Promise<void> {
  const { now } = options;
  const cursor = state.cursor ?? now - FIRST_PASS_LOOKBACK_MS;
  // A first pass stores where it starts: if it dies mid-way, the next pass still reaches the instants it claimed.
  if (state.cursor === null) await options.store.putSchedule({ ...state, cursor, updatedAt: now });
  // Jitter delays the launch: an instant whose delay has not passed waits for a later pass (the cursor stops before it).
  const dueAt = (t: number) => t + jitterDelayMs(def.name, new Date(t).toISOString(), def.jitterMs);
  const due = instantsBetween(def, cursor, now);
  const waiting = due.find((t) => dueAt(t) > now);
  const { run, missed } = planCatchup(
    def,
    due.filter((t) => dueAt(t) <= now),
    now,
    dueAt,
  );
  const guard = new OverlapGuard(
    def,
    def.overlap === 'allow' ? [] : await options.activeRuns(def.name),
    def.overlap === 'buffer-one' ? state.buffered : undefined,
  );
  /** Instants another process holds unfinished: the cursor stays before them, so a dead holder's are taken over. */
  const held: number[] = [];
  const pass = { options, def, dueAt, results, held };
  for (const t of missed) await evaluate(pass, t, async () => ({ status: 'MISSED' }));
  if (guard.buffered !== undefined && guard.idle) {
    const buffered = guard.buffered;
    guard.buffered = undefined;
    await evaluate(pass, buffered, (tick) => launchTick(options, def, tick, guard, []));
    guard.reset(await options.activeRuns(def.name));
  }
  for (const t of run) {
    const decision = guard.decide(t);
    if (decision.kind === 'buffer') continue;
    const decide =
      decision.kind === 'skip'
        ? async (): Promise<TickOutcome> => ({ status: 'SKIPPED', reason: decision.reason })
        : (tick: ScheduleTick) => launchTick(options, def, tick, guard, decision.cancel);
    await evaluate(pass, t, decide);
  }
  // Never backwards: a clock moved back does not re-open instants already passed.
  // Nothing evaluated and nothing buffered changed: the stored row still says it (no write on an idle pass).
  if (missed.length + run.length === 0 && guard.buffered === state.buffered && state.cursor !== null) return;
  const stopAt = Math.min(now, ...held.map((t) => t - 1), ...(waiting === undefined ? [] : [waiting - 1]));
  const next: ScheduleState = { ...state, cursor: Math.max(cursor, stopAt), updatedAt: now };
  if (guard.buffered === undefined) delete next.buffered;
  else next.buffered = guard.buffered;
  await options.store.putSchedule(next);
}

interface PassOfSchedule {
  options: SchedulerPassOptions;
  def: ScheduleDefinition;
  dueAt: (t: number) => number;
  results: PassResult[];
  held: number[];
}

async function evaluate(
  { options, def, dueAt, results, held }: PassOfSchedule,
  t: number,
  decide: (tick: ScheduleTick) => Promise<TickOutcome>,
): Promise<void> {
  const scheduledAt = new Date(t).toISOString();
  const { store, now, owner, leaseMs } = options;
  const claim = await store.claimTick({ schedule: def.name, scheduledAt, owner, now, leaseMs });
  if (!claim.claimed) {
    if (claim.inProgress) held.push(t);
    return;
  }
  faultPoint('claimed');
  const tick: ScheduleTick = {
    scheduleName: def.name,
    scheduledAt,
    localTime: localIso(def.timezone, t),
    timezone: def.timezone,
    catchup: now - dueAt(t) > ON_TIME_MS,
    attempt: claim.attempt,
  };
  // A takeover whose dead claimer already stored the run finishes it as launched, whatever this pass would decide.
  const taken = claim.attempt > 1 && (await options.runStored(tickRunKey(def.name, scheduledAt)));
  const outcome = taken ? await launchTick(options, def, tick, undefined, []) : await decide(tick);
  if (await store.finishTick(def.name, scheduledAt, owner, outcome, now)) {
    faultPoint('tick-finished');
    results.push({ schedule: def.name, scheduledAt, outcome });
  }
}

async function launchTick(
  options: SchedulerPassOptions,
  def: ScheduleDefinition,
  tick: ScheduleTick,
  guard: OverlapGuard | undefined,
  cancel: readonly string[],
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
  faultPoint('evaluated');
  for (const runId of cancel) await options.cancelRun(runId);
  const tags = { ...def.tags, [SCHEDULE_TAG]: def.name, [SCHEDULED_AT_TAG]: tick.scheduledAt };
  try {
    const runId = await options.launch({ def, tick, runConfig, tags, runKey: tickRunKey(def.name, tick.scheduledAt) });
    faultPoint('run-submitted');
    guard?.launched(runId, cancel);
    const reason = cancel.length ? { reason: `overlap: canceled run ${cancel.join(', ')}` } : {};
    return { status: 'SUCCESS', runIds: [runId], ...reason };
  } catch (err) {
    return { status: 'FAILURE', error: `launching the run failed: ${(err as Error).message ?? String(err)}` };
  }
}
