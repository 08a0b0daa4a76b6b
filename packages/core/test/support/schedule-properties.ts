/** Shared by the in-process property test and the child processes that run it under other `TZ` values. */
import fc from 'fast-check';
import { compileCron, instantsBetween, offsetAt, previousInstants, type ScheduleTiming } from '../../src/index.js';

export const ZONES = [
  'America/New_York',
  'Europe/Berlin',
  'Australia/Lord_Howe',
  'America/Santiago',
  'Asia/Kolkata',
  'Pacific/Chatham',
] as const;

export const TWO_YEARS = { from: Date.UTC(2025, 11, 31), to: Date.UTC(2027, 11, 31) };

const int = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });
const list = (lo: number, hi: number) =>
  fc.uniqueArray(int(lo, hi), { minLength: 2, maxLength: 3 }).map((xs) => xs.sort((a, b) => a - b).join(','));
const range = (lo: number, hi: number) =>
  fc.tuple(int(lo, hi), int(lo, hi)).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);

/** Random 5-field patterns, sparse enough (at most four a hour) to enumerate two years quickly. */
export const cronPattern = fc
  .tuple(
    fc.oneof(int(0, 59).map(String), list(0, 59), fc.constantFrom('*/15', '*/30', '0,30', '15,45')),
    fc.oneof(int(0, 23).map(String), list(0, 23), range(0, 23), fc.constantFrom('*', '*/2', '*/5')),
    fc.oneof(fc.constant('*'), int(1, 31).map(String), range(1, 28), fc.constantFrom('L', '*/10')),
    fc.oneof(fc.constant('*'), int(1, 12).map(String), fc.constantFrom('*/3', '3,10,11', '4,9')),
    fc.oneof(fc.constant('*'), int(0, 6).map(String), fc.constantFrom('1-5', '0,6', '5')),
  )
  .map((fields) => fields.join(' '));

export const dstPolicy = fc.record({
  gap: fc.constantFrom('shift' as const, 'skip' as const),
  fold: fc.constantFrom('first' as const, 'last' as const, 'both' as const),
});

/**
 * Violations of the properties for one schedule over a range: instants strictly increasing; each one shows a
 * wall time the pattern matches, or is the end of a gap holding a matched wall time (the documented shift);
 * backward enumeration from the end gives the same instants.
 */
export function violations(timing: ScheduleTiming, from: number, to: number): { instants: number[]; bad: string[] } {
  const instants = instantsBetween(timing, from, to);
  const bad: string[] = [];
  const crons = timing.cron.map(compileCron);
  const matches = (wall: number) => crons.some((c) => c.next(wall - 60_000) === wall);
  instants.forEach((t, i) => {
    const iso = new Date(t).toISOString();
    if (i > 0 && t <= (instants[i - 1] as number)) bad.push(`${iso} not after the previous instant`);
    if (matches(t + offsetAt(timing.timezone, t))) return;
    const before = offsetAt(timing.timezone, t - 1);
    const after = offsetAt(timing.timezone, t);
    const shifted =
      timing.dst.gap === 'shift' &&
      after > before &&
      crons.some((c) => c.fixedTime && (c.next(t + before - 1) ?? Number.POSITIVE_INFINITY) < t + after);
    if (!shifted) bad.push(`${iso} matches no pattern and is no gap shift`);
  });
  const tail = instants.slice(-20);
  const backward = previousInstants(timing, to + 1, tail.length).reverse();
  if (JSON.stringify(backward) !== JSON.stringify(tail)) bad.push('backward enumeration disagrees with forward');
  return { instants, bad };
}
