import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { safeRunId } from '@stepwise/core';
import { FAULT_POINTS } from '@stepwise/daemon';
import { waitUntil } from '@stepwise/testing';
import { describe, expect, it } from 'vitest';
import { Instance, makeHome, startCli, stop } from './support.js';

const RACE = fileURLToPath(new URL('./fixtures/race-schedules.ts', import.meta.url));
const T = Date.parse('2026-01-01T01:00:00Z');
const DAEMON = ['daemon', '-f', RACE, '--no-run-queue', '--no-monitor'];

describe('a daemon SIGKILLed at each point of a tick; a second daemon takes the tick over after its 30 s lease', () => {
  it.each(FAULT_POINTS)(
    'killed at %s: exactly one run for the instant',
    async (point) => {
      const home = makeHome('runCoordinator: { queued: {} }\nscheduler: { tickIntervalMs: 100 }\n');
      const clock = join(home, 'clock');
      writeFileSync(clock, String(T + 5_000));
      const env = { STEPWISE_CLOCK_FILE: clock, STEPWISE_LOG_LEVEL: 'warn' };
      const first = startCli(home, DAEMON, { ...env, STEPWISE_SCHEDULER_FAULT: point });
      await waitUntil(() => first.signalCode !== null || first.exitCode !== null, 120_000, 'the first daemon to die');
      expect(first.signalCode).toBe('SIGKILL');
      // Simulated time past the dead daemon's lease on the tick (30 s from its claim).
      writeFileSync(clock, String(T + 45_000));
      const second = startCli(home, DAEMON, env);
      const instance = await Instance.local(home);
      try {
        const tick = await waitUntil(
          async () => {
            const [t] = (await instance.storage.schedules?.listTicks('every-minute', 10)) ?? [];
            return t?.status === 'SUCCESS' && t;
          },
          120_000,
          'the tick to be finished',
        );
        expect(tick).toMatchObject({
          scheduledAt: new Date(T).toISOString(),
          runIds: [safeRunId(`schedule:every-minute:${new Date(T).toISOString()}`)],
          attempt: point === 'tick-finished' ? 1 : 2,
        });
        const runs = await instance.storage.listRuns({ tags: { 'stepwise/schedule': 'every-minute' } });
        expect(runs.map((r) => r.runId)).toEqual(tick.runIds);
        expect(second.exitCode).toBeNull();
      } finally {
        await stop(second);
        await instance.close();
      }
    },
    300_000,
  );
});
