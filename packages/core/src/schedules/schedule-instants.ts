import { createHash } from 'node:crypto';
import type { DstOptions } from '../definitions/schedule.js';
import { compileCron } from './cron-pattern.js';
import { gapEnd, instantsOfWall, offsetBounds } from './zone-offsets.js';

/** What fixes a schedule's instants: its patterns (a union), zone and DST policy. */
export interface ScheduleTiming {
  readonly cron: readonly string[];
  readonly timezone: string;
  readonly dst: Readonly<Required<DstOptions>>;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * The instants (epoch ms, ascending, no duplicates) at which the schedule is due with `after < t <= until`.
 * Pure: wall times come from croner in UTC, the zone's offsets from Intl, so the host's `TZ` plays no part.
 *
 * DST, per docs/scheduler.md. A fixed wall time in a gap: `shift` runs it at the gap's end (croner agrees), `skip` drops
 * it (croner cannot). In a fold: `first` (croner's only answer), `last` or `both`. Interval patterns run on both
 * occurrences of a fold and skip the gap (croner agrees), so an hourly schedule has 23 and 25 runs on those days.
 */
export function instantsBetween(timing: ScheduleTiming, after: number, until: number): number[] {
  if (until <= after) return [];
  const { min, max } = offsetBounds(timing.timezone, after, until);
  // Every instant in range shows a wall time in [after + min, until + max]; a gap's end is reached from its walls.
  const wallFrom = after + min - MINUTE_MS;
  const wallTo = until + max;
  const found = new Set<number>();
  for (const pattern of timing.cron) {
    const cron = compileCron(pattern);
    for (let w = cron.next(wallFrom); w !== undefined && w <= wallTo; w = cron.next(w)) {
      for (const t of instantsForWall(timing, cron.fixedTime, w)) if (t > after && t <= until) found.add(t);
    }
  }
  return [...found].sort((a, b) => a - b);
}

function instantsForWall(timing: ScheduleTiming, fixedTime: boolean, wallMs: number): number[] {
  const instants = instantsOfWall(timing.timezone, wallMs);
  if (instants.length === 1) return instants;
  if (instants.length === 0) return fixedTime && timing.dst.gap === 'shift' ? [gapEnd(timing.timezone, wallMs)] : [];
  if (!fixedTime || timing.dst.fold === 'both') return instants;
  return timing.dst.fold === 'first' ? instants.slice(0, 1) : instants.slice(-1);
}

// Windows tried in turn when looking for the next or previous instant: a rare pattern (29 February) needs years.
const SEARCH_SPANS = [DAY_MS, 8 * DAY_MS, 32 * DAY_MS, 367 * DAY_MS, 8 * 366 * DAY_MS];

/** The first instant strictly after `after`, or undefined when the pattern has none within eight years. */
export function nextInstant(timing: ScheduleTiming, after: number): number | undefined {
  for (const span of SEARCH_SPANS) {
    const [first] = instantsBetween(timing, after, after + span);
    if (first !== undefined) return first;
  }
  return undefined;
}

/** Up to `count` instants strictly before `before`, newest first (the backward enumeration). */
export function previousInstants(timing: ScheduleTiming, before: number, count: number): number[] {
  for (const span of SEARCH_SPANS) {
    const found = instantsBetween(timing, before - span, before - 1);
    if (found.length >= count || span === SEARCH_SPANS[SEARCH_SPANS.length - 1]) {
      return found.slice(-count).reverse();
    }
  }
  return [];
}

/** The launch delay of one tick, in [0, jitterMs]: a hash of schedule and instant, so every process agrees. */
export function jitterDelayMs(scheduleName: string, scheduledAt: string, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  const digest = createHash('sha256').update(`${scheduleName}\u0000${scheduledAt}`).digest();
  return digest.readUIntBE(0, 6) % (Math.floor(jitterMs) + 1);
}
