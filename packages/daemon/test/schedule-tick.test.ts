import { fileURLToPath } from 'node:url';
import { Instance, safeRunId } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { cli, makeHome } from './support.js';

const SCHEDULES = fileURLToPath(new URL('./fixtures/schedules.ts', import.meta.url));
/** Runs wait QUEUED for a daemon's run queue (none runs here), so the tests see them as the tick left them. */
const QUEUED = 'runCoordinator: { queued: {} }\n';

async function tick(home: string, now: string, names: string[] = ['hourly']) {
  const r = await cli(home, ['schedule', 'tick', '-f', SCHEDULES, ...names, '--now', now], 60_000);
  expect([r.code, r.stderr]).toEqual([0, '']);
  return r.stdout;
}

async function ticks(home: string, name: string) {
  const r = await cli(home, ['schedule', 'ticks', name, '--json', '--limit', '50']);
  return JSON.parse(r.stdout) as Array<{
    scheduledAt: string;
    status: string;
    runIds: string[];
    reason: string | null;
  }>;
}

describe('stepwise schedule tick (real CLI processes, --now as the clock)', () => {
  it('launches the due instant once as a QUEUED run with the schedule tags and run key', async () => {
    const home = makeHome(QUEUED);
    const runId = safeRunId('schedule:hourly:2026-01-01T01:00:00.000Z');
    expect(await tick(home, '2026-01-01T01:00:20Z')).toBe(`hourly 2026-01-01T01:00:00.000Z SUCCESS ${runId}\n`);
    expect(await tick(home, '2026-01-01T01:00:40Z')).toBe('');
    const instance = await Instance.local(home);
    try {
      const run = await instance.storage.getRun(runId);
      expect(run?.status).toBe('QUEUED');
      expect(run?.tags).toMatchObject({
        'stepwise/schedule': 'hourly',
        'stepwise/scheduled-at': '2026-01-01T01:00:00.000Z',
      });
      expect(await instance.storage.listRuns()).toHaveLength(1);
    } finally {
      await instance.close();
    }
  }, 180_000);

  it('three racing tick processes launch each instant once', async () => {
    const home = makeHome(QUEUED);
    await tick(home, '2026-01-01T00:00:10Z');
    const outputs = await Promise.all([0, 1, 2].map(() => tick(home, '2026-01-01T01:00:10Z')));
    expect(outputs.join('').match(/SUCCESS/g)).toHaveLength(1);
    const instance = await Instance.local(home);
    try {
      expect((await instance.storage.listRuns()).map((r) => r.tags['stepwise/scheduled-at']).sort()).toEqual([
        '2026-01-01T00:00:00.000Z',
        '2026-01-01T01:00:00.000Z',
      ]);
    } finally {
      await instance.close();
    }
  }, 180_000);

  it("catch-up 'latest' after hours down: the newest instant runs, the others are MISSED; a clock moved back re-fires nothing", async () => {
    const home = makeHome(QUEUED);
    await tick(home, '2026-01-01T01:00:05Z');
    expect(await tick(home, '2026-01-01T05:30:00Z')).toBe(
      [
        'hourly 2026-01-01T02:00:00.000Z MISSED',
        'hourly 2026-01-01T03:00:00.000Z MISSED',
        'hourly 2026-01-01T04:00:00.000Z MISSED',
        `hourly 2026-01-01T05:00:00.000Z SUCCESS ${safeRunId('schedule:hourly:2026-01-01T05:00:00.000Z')}`,
        '',
      ].join('\n'),
    );
    expect(await tick(home, '2026-01-01T04:30:00Z')).toBe('');
    expect((await ticks(home, 'hourly')).map((t) => t.status)).toEqual([
      'SUCCESS',
      'MISSED',
      'MISSED',
      'MISSED',
      'SUCCESS',
    ]);
  }, 180_000);

  it('records shouldRun skips and a throwing runConfig with their reasons, and goes on', async () => {
    const home = makeHome(QUEUED);
    await tick(home, '2026-12-25T00:00:05Z', ['skipper', 'broken']);
    await tick(home, '2026-12-26T00:00:05Z', ['skipper', 'broken']);
    const skipper = await ticks(home, 'skipper');
    // 12-26's pass: the on-time 00:00 runs, the 23 instants between are MISSED (catch-up 'latest').
    const tally: Record<string, number> = {};
    for (const t of skipper) tally[t.status] = (tally[t.status] ?? 0) + 1;
    expect(tally).toEqual({ SUCCESS: 1, MISSED: 23, SKIPPED: 1 });
    expect(skipper.find((t) => t.scheduledAt === '2026-12-25T00:00:00.000Z')).toMatchObject({
      status: 'SKIPPED',
      reason: 'shouldRun: holiday',
    });
    const broken = await ticks(home, 'broken');
    expect(broken.find((t) => t.scheduledAt === '2026-12-25T00:00:00.000Z')).toMatchObject({
      status: 'FAILURE',
      runIds: [],
      reason: "schedule 'broken': no config today",
    });
    // The schedule goes on: the next day's on-time instant is evaluated too (and fails the same way).
    expect(broken.find((t) => t.scheduledAt === '2026-12-26T00:00:00.000Z')?.status).toBe('FAILURE');
  }, 180_000);

  it("overlap 'skip': a tick while the schedule's run has not finished is SKIPPED with the run named", async () => {
    const home = makeHome(QUEUED);
    const first = safeRunId('schedule:exclusive:2026-01-01T01:00:00.000Z');
    expect(await tick(home, '2026-01-01T01:00:05Z', ['exclusive'])).toBe(
      `exclusive 2026-01-01T01:00:00.000Z SUCCESS ${first}\n`,
    );
    // No daemon runs it, so the first run is still QUEUED an hour later.
    expect(await tick(home, '2026-01-01T02:00:05Z', ['exclusive'])).toBe(
      `exclusive 2026-01-01T02:00:00.000Z SKIPPED  overlap: run ${first} is still in progress\n`,
    );
  }, 180_000);
});
