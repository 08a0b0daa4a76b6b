import type { ScheduleDefinition } from '@stepwise/core';

/** How far past its instant a tick still counts as on time (a pass every few seconds, cron's own latency). */
export const ON_TIME_MS = 60_000;

/** Which due instants a pass runs and which it records MISSED, by the schedule's catch-up policy. */
export function planCatchup(
  def: ScheduleDefinition,
  due: readonly number[],
  now: number,
): { run: number[]; missed: number[] } {
  const onTime = due.filter((t) => now - t <= ON_TIME_MS);
  const late = due.filter((t) => now - t > ON_TIME_MS && now - t <= def.catchup.windowMs);
  let caughtUp: number[] = [];
  if (def.catchup.policy === 'latest') caughtUp = onTime.length > 0 ? [] : late.slice(-1);
  else if (def.catchup.policy === 'all') caughtUp = late.slice(-def.catchup.maxRuns);
  const run = new Set([...caughtUp, ...onTime]);
  return { run: due.filter((t) => run.has(t)), missed: due.filter((t) => !run.has(t)) };
}
