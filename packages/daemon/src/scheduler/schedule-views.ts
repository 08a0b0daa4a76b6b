import { localIso, nextInstant, type ScheduleDefinition, type ScheduleStore } from '@stepwise/core';
import { effectiveState } from './schedule-state.js';

/** One line of `stepwise schedule list` (the JSON names of README.md's CLI section). */
export interface ScheduleListEntry {
  name: string;
  pipeline: string;
  cron: string[];
  timezone: string;
  status: 'running' | 'stopped';
  /** The next instant after now (ISO UTC), or null when the pattern has none. */
  nextTick: string | null;
  lastTick: { scheduledAt: string; status: string } | null;
}

export async function listSchedules(
  store: ScheduleStore,
  schedules: Iterable<ScheduleDefinition>,
  now: number,
): Promise<ScheduleListEntry[]> {
  const out: ScheduleListEntry[] = [];
  for (const def of schedules) {
    const state = effectiveState(def, await store.getSchedule(def.name), now);
    const next = nextInstant(def, now);
    const [last] = await store.listTicks(def.name, 1);
    out.push({
      name: def.name,
      pipeline: def.pipeline.name,
      cron: [...def.cron],
      timezone: def.timezone,
      status: state.status,
      nextTick: next === undefined ? null : new Date(next).toISOString(),
      lastTick: last ? { scheduledAt: last.scheduledAt, status: last.status } : null,
    });
  }
  return out;
}

/** The next `count` instants strictly after `from`, in UTC and as local time in the schedule's zone. */
export function previewSchedule(
  def: ScheduleDefinition,
  from: number,
  count: number,
): { utc: string; local: string }[] {
  const out: { utc: string; local: string }[] = [];
  for (let t = nextInstant(def, from); t !== undefined && out.length < count; t = nextInstant(def, t)) {
    out.push({ utc: new Date(t).toISOString(), local: localIso(def.timezone, t) });
  }
  return out;
}
