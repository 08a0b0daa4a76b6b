import {
  instantsBetween,
  localIso,
  type ScheduleDefinition,
  type ScheduleRunConfig,
  type ScheduleTick,
  UsageError,
} from '@stepwise/core';
import { type LaunchTick, SCHEDULE_TAG, SCHEDULED_AT_TAG, tickRunKey } from './scheduler-pass.js';

/** The most instants one backfill launches: a wider range is refused (narrow it, or run several). */
export const MAX_BACKFILL_INSTANTS = 10_000;

export type BackfillEntry =
  | { scheduledAt: string; status: 'created' | 'exists'; runId: string }
  | { scheduledAt: string; status: 'skipped'; reason: string }
  | { scheduledAt: string; status: 'failed'; error: string };

export interface BackfillOptions {
  def: ScheduleDefinition;
  /** Inclusive bounds, epoch ms. */
  from: number;
  to: number;
  launch: LaunchTick;
  runStored: (runKey: string) => Promise<boolean>;
}

/**
 * `stepwise schedule backfill`: one run per instant in [from, to], under the scheduler's own run key, so an instant
 * that already ran (scheduled, or an earlier backfill) is not run again. It neither claims ticks nor moves the
 * cursor: ticks record what the scheduler decided, a backfill is an explicit request on top.
 */
export async function backfillSchedule(options: BackfillOptions): Promise<BackfillEntry[]> {
  const { def, from, to } = options;
  if (to < from) throw new UsageError(`--to (${new Date(to).toISOString()}) is before --from`);
  const instants = instantsBetween(def, from - 1, to);
  if (instants.length > MAX_BACKFILL_INSTANTS) {
    throw new UsageError(
      `schedule '${def.name}' has ${instants.length} instants in that range, more than ${MAX_BACKFILL_INSTANTS}: narrow --from/--to`,
    );
  }
  const out: BackfillEntry[] = [];
  for (const t of instants) out.push(await backfillOne(options, t));
  return out;
}

async function backfillOne(options: BackfillOptions, t: number): Promise<BackfillEntry> {
  const { def } = options;
  const scheduledAt = new Date(t).toISOString();
  const runKey = tickRunKey(def.name, scheduledAt);
  const existed = await options.runStored(runKey);
  const tick: ScheduleTick = {
    scheduleName: def.name,
    scheduledAt,
    localTime: localIso(def.timezone, t),
    timezone: def.timezone,
    catchup: true,
    attempt: 1,
  };
  let runConfig: ScheduleRunConfig = {};
  if (!existed) {
    try {
      const verdict = def.shouldRun ? await def.shouldRun(tick) : true;
      if (verdict === false) return { scheduledAt, status: 'skipped', reason: 'shouldRun returned false' };
      if (typeof verdict === 'object') return { scheduledAt, status: 'skipped', reason: `shouldRun: ${verdict.skip}` };
      runConfig = typeof def.runConfig === 'function' ? await def.runConfig(tick) : (def.runConfig ?? {});
    } catch (err) {
      return { scheduledAt, status: 'failed', error: `schedule '${def.name}': ${(err as Error).message}` };
    }
  }
  const tags = { ...def.tags, [SCHEDULE_TAG]: def.name, [SCHEDULED_AT_TAG]: scheduledAt };
  try {
    const runId = await options.launch({ def, tick, runConfig, tags, runKey });
    return { scheduledAt, status: existed ? 'exists' : 'created', runId };
  } catch (err) {
    return { scheduledAt, status: 'failed', error: `launching the run failed: ${(err as Error).message}` };
  }
}
