import { fileURLToPath } from 'node:url';
import { Instance } from '@stepwise/core';
import { type Clock, schedulerLoop, startDaemon, systemClock } from '@stepwise/daemon';
import { waitUntil } from '@stepwise/testing';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { makeHome } from './support.js';

const SCHEDULES = fileURLToPath(new URL('./fixtures/schedules.ts', import.meta.url));

describe('the scheduler loop in the daemon (injected clock)', () => {
  it('ticks at the clock it is given: the due instant runs, a jump ahead records MISSED and runs the newest', async () => {
    const instance = await Instance.local(makeHome('runCoordinator: { queued: {} }\n'));
    let now = Date.parse('2026-01-01T01:00:05Z');
    const clock: Clock = { now: () => now, sleep: systemClock.sleep };
    const loop = schedulerLoop(SCHEDULES);
    if (!loop) throw new Error('no scheduler loop for a file');
    const logger = pino({ level: 'silent' });
    const daemon = await startDaemon({ instance, runQueue: false, monitor: false, loops: [loop], clock, logger });
    const store = instance.storage.schedules;
    if (!store) throw new Error('no schedule store');
    // Finished ticks only: a tick is STARTED while its pass evaluates it.
    const hourly = async () =>
      (await store.listTicks('hourly', 10))
        .filter((t) => t.status !== 'STARTED')
        .map((t) => `${t.scheduledAt} ${t.status}`);
    try {
      await waitUntil(async () => (await hourly()).length === 1, 20_000, 'the first tick');
      expect(await hourly()).toEqual(['2026-01-01T01:00:00.000Z SUCCESS']);
      now = Date.parse('2026-01-01T03:00:05Z');
      await waitUntil(async () => (await hourly()).length === 3, 20_000, 'the ticks after the jump');
      expect(await hourly()).toEqual([
        '2026-01-01T03:00:00.000Z SUCCESS',
        '2026-01-01T02:00:00.000Z MISSED',
        '2026-01-01T01:00:00.000Z SUCCESS',
      ]);
      expect(schedulerLoop(undefined)).toBeUndefined();
    } finally {
      await daemon.stop();
      await instance.close();
    }
  });
});
