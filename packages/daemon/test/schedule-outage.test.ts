import { schedule } from '@stepwise/core';
import { setScheduleStatus } from '@stepwise/daemon';
import { describe, expect, it } from 'vitest';
import { type Harness, schedulerHarness } from './scheduler-harness.js';

const QUEUED = 'runCoordinator: { queued: {} }\n';

async function withHarness(test: (h: Harness) => Promise<void>): Promise<void> {
  const h = await schedulerHarness(QUEUED);
  try {
    await test(h);
  } finally {
    await h.close();
  }
}

function tally(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    const status = l.split(' ')[1] ?? '';
    out[status] = (out[status] ?? 0) + 1;
  }
  return out;
}

const runCount = async (h: Harness, name: string) =>
  (await h.instance.storage.listRuns({ tags: { 'stepwise/schedule': name }, limit: 100_000 })).length;

describe('outages and clock changes (scheduler passes at injected instants, SQLite)', () => {
  it('catch-up after 10 hours down: none runs none, latest the newest, all every one; the rest are MISSED', async () => {
    await withHarness(async (h) => {
      const names = ['hourly-none', 'hourly-latest', 'hourly-all'];
      await h.pass('2026-01-01T00:00:05Z', names);
      await h.pass('2026-01-01T10:30:00Z', names);
      expect(tally(await h.tickLines('hourly-none'))).toEqual({ SUCCESS: 1, MISSED: 10 });
      const latest = await h.tickLines('hourly-latest');
      expect(tally(latest)).toEqual({ SUCCESS: 2, MISSED: 9 });
      expect(latest.at(-1)).toBe('2026-01-01T10:00 SUCCESS');
      expect(tally(await h.tickLines('hourly-all'))).toEqual({ SUCCESS: 11 });
      expect([
        await runCount(h, 'hourly-none'),
        await runCount(h, 'hourly-latest'),
        await runCount(h, 'hourly-all'),
      ]).toEqual([1, 2, 11]);
      // The late ones are run as catch-up ticks, tagged with their own instants.
      const runs = await h.instance.storage.listRuns({ tags: { 'stepwise/schedule': 'hourly-all' } });
      expect(new Set(runs.map((r) => r.tags['stepwise/scheduled-at'])).size).toBe(11);
    });
  }, 120_000);

  it("a 30-day outage under 'all' is no storm: at most maxRuns runs, none older than windowMs", async () => {
    await withHarness(async (h) => {
      await h.pass('2026-01-01T00:00:05Z', ['hourly-all-capped', 'hourly-all-window']);
      await h.pass('2026-01-31T00:30:00Z', ['hourly-all-capped', 'hourly-all-window']);
      const capped = await h.tickLines('hourly-all-capped');
      expect(tally(capped)).toEqual({ SUCCESS: 1 + 5, MISSED: 720 - 5 });
      expect(capped.filter((l) => l.endsWith('SUCCESS')).slice(1)).toEqual([
        '2026-01-30T20:00 SUCCESS',
        '2026-01-30T21:00 SUCCESS',
        '2026-01-30T22:00 SUCCESS',
        '2026-01-30T23:00 SUCCESS',
        '2026-01-31T00:00 SUCCESS',
      ]);
      // windowMs 6 h: only the instants of the last 6 hours run, whatever maxRuns allows.
      const windowed = await h.tickLines('hourly-all-window');
      expect(tally(windowed)).toEqual({ SUCCESS: 1 + 6, MISSED: 720 - 6 });
      expect(await runCount(h, 'hourly-all-capped')).toBe(6);
    });
  }, 180_000);

  it('stopped for 3 days then started: nothing from the stopped time is replayed', async () => {
    await withHarness(async (h) => {
      const def = h.defs.schedules.get('hourly-all');
      const store = h.instance.storage.schedules;
      if (!def || !store) throw new Error('fixture');
      await h.pass('2026-01-01T00:00:05Z', ['hourly-all']);
      await setScheduleStatus(store, def, 'stopped', Date.parse('2026-01-01T00:10:00Z'));
      expect(await h.pass('2026-01-02T12:00:05Z', ['hourly-all'])).toEqual([]);
      await setScheduleStatus(store, def, 'running', Date.parse('2026-01-04T00:10:00Z'));
      expect(await h.pass('2026-01-04T00:20:00Z', ['hourly-all'])).toEqual([]);
      expect((await h.pass('2026-01-04T01:00:05Z', ['hourly-all'])).map((r) => r.scheduledAt)).toEqual([
        '2026-01-04T01:00:00.000Z',
      ]);
      expect(await h.tickLines('hourly-all')).toEqual(['2026-01-01T00:00 SUCCESS', '2026-01-04T01:00 SUCCESS']);
    });
  }, 120_000);

  it('a clock moved back an hour re-fires nothing; the next instant after the old time runs once', async () => {
    await withHarness(async (h) => {
      await h.pass('2026-01-01T05:00:05Z', ['hourly-all']);
      expect(await h.pass('2026-01-01T04:00:05Z', ['hourly-all'])).toEqual([]);
      expect(await h.pass('2026-01-01T05:00:30Z', ['hourly-all'])).toEqual([]);
      await h.pass('2026-01-01T06:00:05Z', ['hourly-all']);
      expect(await h.tickLines('hourly-all')).toEqual(['2026-01-01T05:00 SUCCESS', '2026-01-01T06:00 SUCCESS']);
      expect(await runCount(h, 'hourly-all')).toBe(2);
    });
  }, 120_000);

  it('a changed cron resets the cursor: the new pattern does not replay the time since the last pass', async () => {
    await withHarness(async (h) => {
      const old = h.defs.schedules.get('hourly-all');
      if (!old) throw new Error('fixture');
      await h.pass('2026-01-01T00:00:05Z', [old]);
      // Five hours later the schedule is redefined to every 30 minutes: what it would have run since is not run.
      const redefined = schedule({
        name: 'hourly-all',
        pipeline: old.pipeline,
        cron: '*/30 * * * *',
        catchup: { policy: 'all', maxRuns: 24 },
      });
      expect(redefined.definitionHash).not.toBe(old.definitionHash);
      expect(await h.pass('2026-01-01T05:10:00Z', [redefined])).toEqual([]);
      await h.pass('2026-01-01T05:30:05Z', [redefined]);
      expect(await h.tickLines('hourly-all')).toEqual(['2026-01-01T00:00 SUCCESS', '2026-01-01T05:30 SUCCESS']);
      expect((await h.instance.storage.schedules?.getSchedule('hourly-all'))?.definitionHash).toBe(
        redefined.definitionHash,
      );
    });
  }, 120_000);

  it('purging tick history never re-launches: the cursor on the schedule row says what was evaluated', async () => {
    await withHarness(async (h) => {
      await h.pass('2026-01-01T00:00:05Z', ['hourly-all']);
      await h.pass('2026-01-01T03:00:05Z', ['hourly-all']);
      expect(await runCount(h, 'hourly-all')).toBe(4);
      expect(await h.instance.storage.schedules?.purgeTicks('hourly-all', '2026-01-02T00:00:00.000Z')).toBe(4);
      expect(await h.pass('2026-01-01T03:00:30Z', ['hourly-all'])).toEqual([]);
      expect(await h.pass('2026-01-01T04:00:05Z', ['hourly-all'])).toHaveLength(1);
      expect(await h.tickLines('hourly-all')).toEqual(['2026-01-01T04:00 SUCCESS']);
      expect(await runCount(h, 'hourly-all')).toBe(5);
    });
  }, 120_000);
});
