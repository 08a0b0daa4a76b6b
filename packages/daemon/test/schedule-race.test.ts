import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STEPWISE_BIN } from '@stepwise/core';
import { runProcess, sleep, waitUntil } from '@stepwise/testing';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import { Instance, makeHome, startCli, stop } from './support.js';

const RACE = fileURLToPath(new URL('./fixtures/race-schedules.ts', import.meta.url));
const START = Date.parse('2026-01-01T00:00:30Z');
const MINUTES = 240;
/** Real time per simulated minute: the processes see several instants per pass, and race for each. */
const STEP_MS = 200;

/**
 * 3 daemons and 2 loops of `stepwise schedule tick` processes on one storage, all reading one simulated clock
 * (STEPWISE_CLOCK_FILE) that the test moves through 240 minutes of a `* * * * *` schedule.
 */
async function race(storageYaml: string): Promise<void> {
  const home = makeHome(`${storageYaml}
runCoordinator: { queued: {} }
scheduler: { tickIntervalMs: 50 }
`);
  const clock = join(home, 'clock');
  writeFileSync(clock, String(START));
  const env = { STEPWISE_CLOCK_FILE: clock };
  const instance = await Instance.local(home);
  const daemons = [0, 1, 2].map(() =>
    startCli(home, ['daemon', '-f', RACE, '--no-run-queue', '--no-monitor'], { ...env, STEPWISE_LOG_LEVEL: 'warn' }),
  );
  let running = true;
  let tickProcesses = 0;
  const tickLoop = async () => {
    while (running) {
      const r = await runProcess(process.execPath, [STEPWISE_BIN, 'schedule', 'tick', '-f', RACE], {
        env: { STEPWISE_HOME: home, STEPWISE_DEBUG: '', ...env },
        timeoutMs: 120_000,
      });
      expect([r.code, r.stderr]).toEqual([0, '']);
      tickProcesses++;
    }
  };
  const loops = [tickLoop(), tickLoop()];
  const store = instance.storage.schedules;
  if (!store) throw new Error('no schedule store');
  try {
    // Time moves only once a scheduler has made its first pass (the daemons take a while to load under load).
    await waitUntil(async () => (await store.listTicks('every-minute', 1)).length > 0, 120_000, 'a first tick');
    for (let k = 1; k < MINUTES; k++) {
      writeFileSync(clock, String(START + k * 60_000));
      await sleep(STEP_MS);
    }
    const ticks = await waitUntil(
      async () => {
        const all = await store.listTicks('every-minute', 10_000);
        return all.length === MINUTES && all.every((t) => t.status !== 'STARTED') && all;
      },
      180_000,
      `${MINUTES} finished ticks`,
      250,
    );
    running = false;
    await Promise.all(loops);
    expect(ticks.filter((t) => t.status !== 'SUCCESS')).toEqual([]);
    const runs = await instance.storage.listRuns({ tags: { 'stepwise/schedule': 'every-minute' }, limit: 10_000 });
    expect(runs).toHaveLength(MINUTES);
    const instants = new Set(runs.map((r) => r.tags['stepwise/scheduled-at']));
    expect(instants.size).toBe(MINUTES);
    for (let k = 0; k < MINUTES; k++) {
      expect(instants.has(new Date(START - 30_000 + k * 60_000).toISOString())).toBe(true);
    }
    for (const t of ticks) expect(t.runIds).toHaveLength(1);
    // Several processes really took part: the claims are spread over them.
    const claimers = new Set(ticks.map((t) => t.claimedBy.split(':').slice(0, 2).join(':')));
    expect(claimers.size).toBeGreaterThanOrEqual(2);
    expect(tickProcesses).toBeGreaterThan(0);
    expect(daemons.every((d) => d.exitCode === null)).toBe(true);
  } finally {
    running = false;
    await Promise.allSettled(loops);
    await Promise.all(daemons.map(stop));
    await instance.close();
    rmSync(home, { recursive: true, force: true });
  }
}

describe('exactly once: 3 daemons and 2 schedule tick processes racing over 240 simulated minutes', () => {
  const schema = randomSchemaName('sched_race');
  afterAll(() => dropSchema(inject('databaseUrl'), schema));

  it('on one SQLite file: 240 runs, one per instant', async () => {
    await race('');
  }, 600_000);

  it('on PostgreSQL: 240 runs, one per instant', async () => {
    await race(`storage:\n  postgres: { url: "${inject('databaseUrl')}", schema: ${schema} }`);
  }, 600_000);
});
