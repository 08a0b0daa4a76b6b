import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STEPWISE_BIN, safeRunId } from '@stepwise/core';
import { runProcess } from '@stepwise/testing';
import { describe, expect, it } from 'vitest';
import { cli, Instance, makeHome } from './support.js';

const SCHEDULES = fileURLToPath(new URL('./fixtures/schedules.ts', import.meta.url));
const QUEUED = 'runCoordinator: { queued: {} }\n';

async function runsOf(home: string, name: string) {
  const instance = await Instance.local(home);
  try {
    return (await instance.storage.listRuns({ tags: { 'stepwise/schedule': name } }))
      .map((r) => r.tags['stepwise/scheduled-at'])
      .sort();
  } finally {
    await instance.close();
  }
}

/** A crontab line's command run as cron runs it: `sh -c` in a bare environment, at the clock file's instant. */
async function runAsCron(line: string, clockFile: string, at: string) {
  const command = line.split(' ').slice(5).join(' ');
  writeFileSync(clockFile, at);
  const r = await runProcess(
    'env',
    ['-i', 'PATH=/usr/bin:/bin', `HOME=${homedir()}`, `STEPWISE_CLOCK_FILE=${clockFile}`, 'sh', '-c', command],
    { timeoutMs: 90_000 },
  );
  expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
}

describe('stepwise schedule backfill (real CLI processes)', () => {
  it('runs one run per instant in the range; a second backfill, and the scheduler, add no duplicate', async () => {
    const home = makeHome(QUEUED);
    const args = ['schedule', 'backfill', 'hourly', '-f', SCHEDULES, '--from', '2026-01-01T01:00:00Z'];
    const first = await cli(home, [...args, '--to', '2026-01-01T03:00:00Z', '--json'], 60_000);
    expect([first.code, first.stderr]).toEqual([0, '']);
    const id = (h: string) => safeRunId(`schedule:hourly:2026-01-01T0${h}:00:00.000Z`);
    expect(JSON.parse(first.stdout)).toEqual(
      ['1', '2', '3'].map((h) => ({ scheduledAt: `2026-01-01T0${h}:00:00.000Z`, status: 'created', runId: id(h) })),
    );
    const second = await cli(home, [...args, '--to', '2026-01-01T04:00:00Z'], 60_000);
    expect([second.code, second.stdout]).toEqual([
      0,
      [
        `2026-01-01T01:00:00.000Z  exists ${id('1')}`,
        `2026-01-01T02:00:00.000Z  exists ${id('2')}`,
        `2026-01-01T03:00:00.000Z  exists ${id('3')}`,
        `2026-01-01T04:00:00.000Z  created ${id('4')}`,
        '',
      ].join('\n'),
    ]);
    // The scheduler's own tick of a backfilled instant finds the run under the same key.
    const tick = await cli(
      home,
      ['schedule', 'tick', '-f', SCHEDULES, 'hourly', '--now', '2026-01-01T04:00:30Z'],
      60_000,
    );
    expect(tick.stdout).toBe(`hourly 2026-01-01T04:00:00.000Z SUCCESS ${id('4')}\n`);
    expect(await runsOf(home, 'hourly')).toEqual(['1', '2', '3', '4'].map((h) => `2026-01-01T0${h}:00:00.000Z`));
    const bad = await cli(home, [...args, '--to', '2025-12-31T00:00:00Z']);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      expect.stringMatching(/--to \(2025-12-31T00:00:00.000Z\) is before --from/),
    ]);
  }, 240_000);
});

describe('stepwise schedule export-crontab (real CLI processes, the lines run by sh as cron would)', () => {
  it('writes marked lines with absolute paths, STEPWISE_HOME and a log; the every-minute line at two instants makes two runs', async () => {
    const home = realpathSync(makeHome(QUEUED));
    const out = await cli(home, ['schedule', 'export-crontab', '-f', SCHEDULES]);
    expect([out.code, out.stderr]).toEqual([0, '']);
    const lines = out.stdout.trimEnd().split('\n');
    const markers = lines.filter((l) => l.startsWith('# stepwise-schedule: '));
    expect(markers.map((l) => l.split(/\s+/)[2])).toEqual(['nightly', 'hourly', 'skipper', 'broken', 'exclusive']);
    expect(markers[0]).toBe('# stepwise-schedule: nightly  30 2 * * *  America/New_York');
    const entries = lines.filter((l) => !l.startsWith('#'));
    expect(entries).toHaveLength(1);
    const line = entries[0] ?? '';
    const log = join(home, 'logs', 'schedule-tick.log');
    expect(line).toBe(
      `* * * * * STEPWISE_HOME='${home}' '${process.execPath}' '${STEPWISE_BIN}' 'schedule' 'tick' '-f' '${SCHEDULES}' >> '${log}' 2>&1`,
    );
    const clock = join(home, 'clock');
    await runAsCron(line, clock, '2026-01-01T01:00:20Z');
    await runAsCron(line, clock, '2026-01-01T02:00:20Z');
    expect(await runsOf(home, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']);
    expect(existsSync(log)).toBe(true);
    expect(readFileSync(log, 'utf8')).toMatch(/hourly 2026-01-01T02:00:00.000Z SUCCESS/);
  }, 240_000);

  it('--cron-tz: per schedule its marker, CRON_TZ and a line per pattern calling schedule tick NAME', async () => {
    const home = realpathSync(makeHome(QUEUED));
    const out = await cli(home, ['schedule', 'export-crontab', '-f', SCHEDULES, '--cron-tz']);
    const lines = out.stdout.trimEnd().split('\n');
    const at = lines.indexOf('# stepwise-schedule: nightly');
    expect(lines[at + 1]).toBe('CRON_TZ=America/New_York');
    expect(lines[at + 2]).toMatch(
      /^30 2 \* \* \* STEPWISE_HOME='.*' 'schedule' 'tick' '-f' '.*schedules\.ts' 'nightly' >> /,
    );
    const hourly = lines[lines.indexOf('# stepwise-schedule: hourly') + 2] ?? '';
    expect(hourly.startsWith('0 * * * * ')).toBe(true);
    await runAsCron(hourly, join(home, 'clock'), '2026-01-01T05:00:10Z');
    expect(await runsOf(home, 'hourly')).toEqual(['2026-01-01T05:00:00.000Z']);
    expect(await runsOf(home, 'skipper')).toEqual([]);
  }, 240_000);
});
