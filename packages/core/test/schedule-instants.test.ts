import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type DstOptions,
  instantsBetween,
  jitterDelayMs,
  localIso,
  nextInstant,
  previousInstants,
  type ScheduleTiming,
} from '@stepwise/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cronPattern, dstPolicy, violations, ZONES } from './support/schedule-properties.js';

const DEFAULT_DST: Required<DstOptions> = { gap: 'shift', fold: 'first' };
const timing = (cron: string | string[], timezone: string, dst: DstOptions = {}): ScheduleTiming => ({
  cron: typeof cron === 'string' ? [cron] : cron,
  timezone,
  dst: { ...DEFAULT_DST, ...dst },
});
const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString().replace(':00.000Z', 'Z'));
/** Instants during one local calendar day (from local midnight to the next), as ISO strings. */
function localDay(t: ScheduleTiming, startUtc: string, endUtc: string): string[] {
  return iso(instantsBetween(t, Date.parse(startUtc) - 1, Date.parse(endUtc) - 1));
}

describe('New York, 2026', () => {
  const ny = 'America/New_York';
  // 03-08 runs from 05:00Z (00:00 EST) to 04:00Z (00:00 EDT); 11-01 from 04:00Z (EDT) to 05:00Z (EST).
  const springDay = (t: ScheduleTiming) => localDay(t, '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z');
  const fallDay = (t: ScheduleTiming) => localDay(t, '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z');

  it('runs a fixed wall time in the spring-forward gap once, at the gap end (03:00 EDT)', () => {
    expect(springDay(timing('30 2 * * *', ny))).toEqual(['2026-03-08T07:00Z']);
    expect(
      iso(instantsBetween(timing('30 2 * * *', ny), Date.parse('2026-03-07T00:00Z'), Date.parse('2026-03-10T00:00Z'))),
    ).toEqual(['2026-03-07T07:30Z', '2026-03-08T07:00Z', '2026-03-09T06:30Z']);
    expect(localIso(ny, Date.parse('2026-03-08T07:00Z'))).toBe('2026-03-08T03:00:00-04:00');
  });

  it("skips it with gap: 'skip', and an interval pattern in the gap always", () => {
    expect(springDay(timing('30 2 * * *', ny, { gap: 'skip' }))).toEqual([]);
    expect(springDay(timing('15,45 2 * * *', ny))).toEqual([]);
  });

  it('runs hourly in real time: 23 runs on the spring-forward day, 25 on the fall-back day', () => {
    const hourly = timing('0 * * * *', ny);
    expect(springDay(hourly)).toHaveLength(23);
    const fall = fallDay(hourly);
    expect(fall).toHaveLength(25);
    expect(fall.slice(0, 4)).toEqual([
      '2026-11-01T04:00Z',
      '2026-11-01T05:00Z',
      '2026-11-01T06:00Z',
      '2026-11-01T07:00Z',
    ]);
  });

  it('runs a fixed wall time in the fold once at its first occurrence; last or both on request', () => {
    expect(fallDay(timing('30 1 * * *', ny))).toEqual(['2026-11-01T05:30Z']);
    expect(fallDay(timing('30 1 * * *', ny, { fold: 'last' }))).toEqual(['2026-11-01T06:30Z']);
    expect(fallDay(timing('30 1 * * *', ny, { fold: 'both' }))).toEqual(['2026-11-01T05:30Z', '2026-11-01T06:30Z']);
    expect(fallDay(timing('*/30 1 * * *', ny))).toEqual([
      '2026-11-01T05:00Z',
      '2026-11-01T05:30Z',
      '2026-11-01T06:00Z',
      '2026-11-01T06:30Z',
    ]);
  });
});

describe('other zones', () => {
  it('Berlin: gap 02:00→03:00 on 03-29, fold 03:00→02:00 on 10-25', () => {
    const berlin = (dst: DstOptions = {}) => timing('30 2 * * *', 'Europe/Berlin', dst);
    expect(localDay(berlin(), '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z')).toEqual(['2026-03-29T01:00Z']);
    expect(localDay(berlin({ gap: 'skip' }), '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z')).toEqual([]);
    const fold = (dst: DstOptions) => localDay(berlin(dst), '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z');
    expect(fold({})).toEqual(['2026-10-25T00:30Z']);
    expect(fold({ fold: 'last' })).toEqual(['2026-10-25T01:30Z']);
  });

  it('Lord Howe: a 30-minute gap (02:00→02:30 on 10-04) and a 30-minute fold (02:00→01:30 on 04-05)', () => {
    const lh = 'Australia/Lord_Howe';
    // 10-04 local starts at 13:30Z (+10:30) and ends at 13:00Z (+11).
    expect(localDay(timing('15 2 * * *', lh), '2026-10-03T13:30:00Z', '2026-10-04T13:00:00Z')).toEqual([
      '2026-10-03T15:30Z',
    ]);
    expect(localIso(lh, Date.parse('2026-10-03T15:30Z'))).toBe('2026-10-04T02:30:00+11:00');
    expect(localDay(timing('15 2 * * *', lh, { gap: 'skip' }), '2026-10-03T13:30:00Z', '2026-10-04T13:00:00Z')).toEqual(
      [],
    );
    // 04-05 local starts at 13:00Z (+11) and ends at 13:30Z (+10:30): 01:45 shows twice, 30 minutes apart.
    const fold = (dst: DstOptions) =>
      localDay(timing('45 1 * * *', lh, dst), '2026-04-04T13:00:00Z', '2026-04-05T13:30:00Z');
    expect(fold({})).toEqual(['2026-04-04T14:45Z']);
    expect(fold({ fold: 'both' })).toEqual(['2026-04-04T14:45Z', '2026-04-04T15:15Z']);
    expect(localDay(timing('*/30 * * * *', lh), '2026-04-04T13:00:00Z', '2026-04-05T13:30:00Z')).toHaveLength(49);
  });

  it('Santiago: midnight does not exist on 09-06 (00:00→01:00), so a midnight job runs at 01:00', () => {
    const midnight = timing('0 0 * * *', 'America/Santiago');
    const days = iso(instantsBetween(midnight, Date.parse('2026-09-04T12:00Z'), Date.parse('2026-09-07T12:00Z')));
    expect(days).toEqual(['2026-09-05T04:00Z', '2026-09-06T04:00Z', '2026-09-07T03:00Z']);
    expect(localIso('America/Santiago', Date.parse('2026-09-06T04:00Z'))).toBe('2026-09-06T01:00:00-03:00');
    const skipped = timing('0 0 * * *', 'America/Santiago', { gap: 'skip' });
    expect(iso(instantsBetween(skipped, Date.parse('2026-09-04T12:00Z'), Date.parse('2026-09-07T12:00Z')))).toEqual([
      '2026-09-05T04:00Z',
      '2026-09-07T03:00Z',
    ]);
  });

  it('reads day-of-month OR day-of-week (POSIX): 0 0 13 * 5 is due on 61 days of 2026', () => {
    const t = timing('0 0 13 * 5', 'UTC');
    const year = instantsBetween(t, Date.parse('2026-01-01T00:00Z') - 1, Date.parse('2027-01-01T00:00Z') - 1);
    expect(year).toHaveLength(61);
  });

  it('takes an array as the union, without duplicates', () => {
    const t = timing(['0 3 * * *', '30 2 * * *', '0 */12 * * *'], 'America/New_York');
    expect(localDay(t, '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z')).toEqual([
      '2026-03-08T05:00Z',
      '2026-03-08T07:00Z',
      '2026-03-08T16:00Z',
    ]);
  });
});

describe('forward and backward', () => {
  it('next and previous agree with the range enumeration across both DST days', () => {
    const t = timing(['30 1 * * *', '0 */6 * * *'], 'America/New_York', { fold: 'both' });
    const from = Date.parse('2026-03-01T00:00Z');
    const to = Date.parse('2026-11-10T00:00Z');
    const all = instantsBetween(t, from, to);
    const forward: number[] = [];
    for (let x = nextInstant(t, from); x !== undefined && x <= to; x = nextInstant(t, x)) forward.push(x);
    expect(forward).toEqual(all);
    expect(previousInstants(t, to + 1, all.length).reverse()).toEqual(all);
  });

  it('a pattern that never matches has no next instant', () => {
    expect(nextInstant(timing('0 0 30 2 *', 'UTC'), Date.parse('2026-01-01T00:00Z'))).toBeUndefined();
  });
});

describe('jitter', () => {
  it('is deterministic per tick and within [0, jitterMs]', () => {
    const a = jitterDelayMs('nightly', '2026-03-08T07:00:00.000Z', 5000);
    expect(jitterDelayMs('nightly', '2026-03-08T07:00:00.000Z', 5000)).toBe(a);
    const spread = new Set(Array.from({ length: 50 }, (_, i) => jitterDelayMs('nightly', `tick-${i}`, 5000)));
    expect(spread.size).toBeGreaterThan(40);
    for (const d of spread) expect(d).toBeGreaterThanOrEqual(0);
    for (const d of spread) expect(d).toBeLessThanOrEqual(5000);
    expect(jitterDelayMs('nightly', 'x', 0)).toBe(0);
  });
});

describe('property: random patterns × six zones', () => {
  it('instants increase strictly, each matches its pattern or is a gap shift, backward agrees', () => {
    fc.assert(
      fc.property(
        fc.array(cronPattern, { minLength: 1, maxLength: 2 }),
        dstPolicy,
        fc.constantFrom(...ZONES),
        (cron, dst, timezone) => {
          // One random quarter per case here; the child processes below cover two whole years.
          const from = Date.UTC(2026, 0, 1);
          const { bad } = violations({ cron, timezone, dst }, from, from + 120 * 86_400_000);
          expect(bad).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('gives identical instants over two years with TZ=UTC, Australia/Sydney and America/Los_Angeles', async () => {
    const script = fileURLToPath(new URL('./fixtures/schedule-instants-dump.ts', import.meta.url));
    const run = (tz: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
        env: { ...process.env, TZ: tz },
        timeout: 240_000,
      }).then(({ stdout }) => JSON.parse(stdout) as { tz: string; count: number; digest: string; bad: string[] });
    const results = await Promise.all(['UTC', 'Australia/Sydney', 'America/Los_Angeles'].map(run));
    expect(results.map((r) => r.tz)).toEqual(['UTC', 'Australia/Sydney', 'America/Los_Angeles']);
    for (const r of results) {
      expect(r.bad).toEqual([]);
      expect(r.count).toBeGreaterThan(10_000);
      expect(r.digest).toBe(results[0]?.digest);
    }
  }, 300_000);
});
