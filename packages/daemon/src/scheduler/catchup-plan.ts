import type { ScheduleDefinition } from '@stepwise/core';

/** How far past its instant a tick still counts as on time (a pass every few seconds, cron's own latency). */
export const ON_TIME_MS = 60_000;

/**
 * Which due instants a pass runs and which it records MISSED, by the schedule's catch-up policy. `dueAt(t)` is
 * when `t` is meant to launch (its instant plus jitter): lateness is measured from there.
 */
export function planCatchup(
  def: ScheduleDefinition,
  due: readonly number[],
  now: number,
  dueAt: (t: number) => number = (t) => t,
): { run: number[]; missed: number[] } {
  const late = (t: number) => now - dueAt(t);
  const onTime = due.filter((t) => late(t) <= ON_TIME_MS);
  const caught = due.filter((t) => late(t) > ON_TIME_MS && late(t) <= def.catchup.windowMs);
  let caughtUp: number[] = [];
  if (def.catchup.policy === 'latest') caughtUp = onTime.length > 0 ? [] : caught.slice(-1);
  else if (def.catchup.policy === 'all') caughtUp = def.catchup.maxRuns > 0 ? caught.slice(-def.catchup.maxRuns) : [];
  const run = new Set([...caughtUp, ...onTime]);
  return { run: due.filter((t) => run.has(t)), missed: due.filter((t) => !run.has(t)) };
}
