import { fileURLToPath } from 'node:url';
import { Instance, type TickOutcome } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { cli, makeHome } from './support.js';

const SCHEDULES = fileURLToPath(new URL('./fixtures/schedules.ts', import.meta.url));

async function json<T>(home: string, args: string[]): Promise<T> {
  const r = await cli(home, args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('stepwise schedule (real CLI processes)', () => {
  it('previews the next instants in UTC and local time, through the spring-forward gap', async () => {
    const home = makeHome('');
    const preview = await json(home, [
      'schedule',
      'preview',
      'nightly',
      '-f',
      SCHEDULES,
      '--from',
      '2026-03-07T12:00:00Z',
      '--count',
      '3',
      '--json',
    ]);
    expect(preview).toEqual([
      { utc: '2026-03-08T07:00:00.000Z', local: '2026-03-08T03:00:00-04:00' },
      { utc: '2026-03-09T06:30:00.000Z', local: '2026-03-09T02:30:00-04:00' },
      { utc: '2026-03-10T06:30:00.000Z', local: '2026-03-10T02:30:00-04:00' },
    ]);
    const text = await cli(home, [
      'schedule',
      'preview',
      'hourly',
      '-f',
      SCHEDULES,
      '--from',
      '2026-01-01T00:00:00Z',
      '--count',
      '2',
    ]);
    expect(text.stdout).toBe(
      '2026-01-01T01:00:00.000Z  2026-01-01T01:00:00+00:00\n2026-01-01T02:00:00.000Z  2026-01-01T02:00:00+00:00\n',
    );
  }, 120_000);

  it('lists schedules with their default status, and start/stop change it in storage', async () => {
    const home = makeHome('');
    type Entry = { name: string; pipeline: string; cron: string[]; timezone: string; status: string; nextTick: string };
    const before = Date.now();
    const list = await json<Entry[]>(home, ['schedule', 'list', '-f', SCHEDULES, '--json']);
    expect(list.map((e) => [e.name, e.pipeline, e.cron, e.timezone, e.status])).toEqual([
      ['nightly', 'greet', ['30 2 * * *'], 'America/New_York', 'stopped'],
      ['hourly', 'greet', ['0 * * * *'], 'UTC', 'running'],
      ['skipper', 'greet', ['0 * * * *'], 'UTC', 'running'],
      ['broken', 'greet', ['0 * * * *'], 'UTC', 'running'],
      ['exclusive', 'greet', ['0 * * * *'], 'UTC', 'running'],
    ]);
    const next = Date.parse(list[1]?.nextTick ?? '');
    expect(next).toBeGreaterThan(before);
    expect(next % 3_600_000).toBe(0);

    const started = await cli(home, ['schedule', 'start', 'nightly', '-f', SCHEDULES]);
    expect([started.code, started.stdout]).toEqual([0, "schedule 'nightly' is running\n"]);
    expect((await cli(home, ['schedule', 'stop', 'hourly', '-f', SCHEDULES])).code).toBe(0);
    const after = await json<Entry[]>(home, ['schedule', 'list', '-f', SCHEDULES, '--json']);
    expect(after.map((e) => e.status)).toEqual(['running', 'stopped', 'running', 'running', 'running']);
    // Starting sets the cursor to now: what passed while stopped is not replayed.
    const instance = await Instance.local(home);
    try {
      const row = await instance.storage.schedules?.getSchedule('nightly');
      expect(row?.cursor).toBeGreaterThanOrEqual(before);
      expect(row?.status).toBe('running');
    } finally {
      await instance.close();
    }
  }, 120_000);

  it('shows tick history newest first with runs and reasons', async () => {
    const home = makeHome('');
    expect(await json(home, ['schedule', 'ticks', 'hourly', '--json'])).toEqual([]);
    const instance = await Instance.local(home);
    try {
      const store = instance.storage.schedules;
      if (!store) throw new Error('no schedule store');
      const outcomes: Array<[string, TickOutcome]> = [
        ['2026-01-01T01:00:00.000Z', { status: 'SUCCESS', runIds: ['r1'] }],
        ['2026-01-01T02:00:00.000Z', { status: 'SKIPPED', reason: 'shouldRun: holiday' }],
      ];
      for (const [at, outcome] of outcomes) {
        await store.claimTick({ schedule: 'hourly', scheduledAt: at, owner: 'test', now: 1, leaseMs: 1000 });
        await store.finishTick('hourly', at, 'test', outcome, 2);
      }
    } finally {
      await instance.close();
    }
    expect(await json(home, ['schedule', 'ticks', 'hourly', '--json', '--limit', '5'])).toEqual([
      { scheduledAt: '2026-01-01T02:00:00.000Z', status: 'SKIPPED', runIds: [], reason: 'shouldRun: holiday' },
      { scheduledAt: '2026-01-01T01:00:00.000Z', status: 'SUCCESS', runIds: ['r1'], reason: null },
    ]);
  }, 120_000);

  it('refuses an unknown schedule, a bad --from and a bad --count with exit 2', async () => {
    const home = makeHome('');
    const unknown = await cli(home, ['schedule', 'preview', 'weekly', '-f', SCHEDULES]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /no schedule 'weekly' in '.*schedules.ts'; it has 'nightly', 'hourly', 'skipper', 'broken', 'exclusive'/,
    );
    const from = await cli(home, ['schedule', 'preview', 'hourly', '-f', SCHEDULES, '--from', 'yesterday']);
    expect([from.code, from.stderr]).toEqual([2, expect.stringMatching(/--from must be an ISO-8601 instant/)]);
    const count = await cli(home, ['schedule', 'preview', 'hourly', '-f', SCHEDULES, '--count', '0']);
    expect([count.code, count.stderr]).toEqual([2, expect.stringMatching(/--count must be a positive integer/)]);
  }, 120_000);
});
