import { fileURLToPath } from 'node:url';
import { STEPWISE_BIN, safeRunId } from '@stepwise/core';
import { FAULT_POINTS } from '@stepwise/daemon';
import { runProcess } from '@stepwise/testing';
import { describe, expect, it } from 'vitest';
import { Instance, makeHome } from './support.js';

const RACE = fileURLToPath(new URL('./fixtures/race-schedules.ts', import.meta.url));
const T = '2026-01-01T01:00:00.000Z';

/** `stepwise schedule tick --now AT`, optionally SIGKILLing itself at a point of the tick. */
function tick(home: string, at: string, fault?: string) {
  return runProcess(process.execPath, [STEPWISE_BIN, 'schedule', 'tick', '-f', RACE, '--now', at], {
    env: { STEPWISE_HOME: home, STEPWISE_DEBUG: '', STEPWISE_SCHEDULER_FAULT: fault ?? '' },
    timeoutMs: 120_000,
  });
}

async function runsAndTick(home: string) {
  const instance = await Instance.local(home);
  try {
    const runs = await instance.storage.listRuns({ tags: { 'stepwise/schedule': 'every-minute' } });
    const ticks = await instance.storage.schedules?.listTicks('every-minute', 10);
    return { runs, tick: ticks?.find((t) => t.scheduledAt === T) };
  } finally {
    await instance.close();
  }
}

describe('a schedule tick process SIGKILLed at each point of a tick, then taken over after its lease', () => {
  it.each(FAULT_POINTS)(
    'killed at %s: exactly one run for the instant',
    async (point) => {
      const home = makeHome('runCoordinator: { queued: {} }\n');
      const killed = await tick(home, '2026-01-01T01:00:05Z', point);
      expect(killed.code).toBe('SIGKILL');
      // Inside the dead process's lease (60 s) nobody takes its claim over.
      const early = await tick(home, '2026-01-01T01:00:30Z');
      expect([early.code, early.stdout]).toEqual([0, '']);
      // Past the lease: the tick is taken over (attempt 2) unless it was finished before the kill.
      const later = await tick(home, '2026-01-01T01:01:10Z');
      expect(later.code).toBe(0);
      const { runs, tick: t } = await runsAndTick(home);
      const forT = runs.filter((r) => r.tags['stepwise/scheduled-at'] === T);
      expect(forT.map((r) => r.runId)).toEqual([safeRunId(`schedule:every-minute:${T}`)]);
      expect(t).toMatchObject({
        status: 'SUCCESS',
        runIds: [forT[0]?.runId],
        attempt: point === 'tick-finished' ? 1 : 2,
      });
      // The next instant is untouched by the crash.
      expect(runs.map((r) => r.tags['stepwise/scheduled-at']).sort()).toEqual([T, '2026-01-01T01:01:00.000Z']);
    },
    400_000,
  );

  it('without a run queue: killed after the run was stored, the takeover launches that run once, to SUCCESS', async () => {
    const home = makeHome('runLauncher: { inProcess: {} }\n');
    expect((await tick(home, '2026-01-01T01:00:05Z', 'run-created')).code).toBe('SIGKILL');
    expect((await runsAndTick(home)).runs.map((r) => r.status)).toEqual(['QUEUED']);
    const later = await tick(home, '2026-01-01T01:01:10Z');
    expect([later.code, later.stderr]).toEqual([0, '']);
    const { runs, tick: t } = await runsAndTick(home);
    expect(runs.map((r) => [r.tags['stepwise/scheduled-at'], r.status]).sort()).toEqual([
      [T, 'SUCCESS'],
      ['2026-01-01T01:01:00.000Z', 'SUCCESS'],
    ]);
    expect(t).toMatchObject({ status: 'SUCCESS', attempt: 2 });
  }, 400_000);
});
