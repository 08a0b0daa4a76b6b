import { cancelRun, jitterDelayMs, RUN_STATUSES, type RunRecord, TERMINAL_RUN_STATUSES } from '@stepwise/core';
import { schedulerLoop, startDaemon } from '@stepwise/daemon';
import { waitUntil } from '@stepwise/testing';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type Harness, POLICY_SCHEDULES, schedulerHarness } from './scheduler-harness.js';
import { Instance, makeHome } from './support.js';

const UNFINISHED = RUN_STATUSES.filter((s) => !TERMINAL_RUN_STATUSES.includes(s));

/** Runs of the schedule, oldest first. */
async function runsOf(h: Harness, name: string): Promise<RunRecord[]> {
  return (await h.instance.storage.listRuns({ tags: { 'stepwise/schedule': name } })).reverse();
}

async function started(h: Harness, runId: string | undefined): Promise<void> {
  await waitUntil(
    async () => runId && (await h.instance.storage.getRun(runId))?.status === 'STARTED',
    30_000,
    `run ${runId} to start`,
  );
}

async function ended(h: Harness, runId: string | undefined): Promise<RunRecord> {
  return waitUntil(
    async () => {
      const run = runId ? await h.instance.storage.getRun(runId) : undefined;
      return run?.endedAt !== undefined && run;
    },
    30_000,
    `run ${runId} to end`,
  );
}

/** Cancels what is still running, so the in-process launcher's close does not wait out the naps. */
async function closeAll(h: Harness): Promise<void> {
  for (const run of await h.instance.storage.listRuns({ status: UNFINISHED })) {
    await cancelRun(h.instance, run.runId).catch(() => {});
  }
  await h.close();
}

/** A first pass that launches the 00:00 run (a 60 s nap, launched at once in this process) and waits for it to start. */
async function withLongRun(name: string, test: (h: Harness, first: string) => Promise<void>): Promise<void> {
  const h = await schedulerHarness();
  try {
    const [r] = await h.pass('2026-01-01T00:00:05Z', [name]);
    expect(r?.outcome.status).toBe('SUCCESS');
    const first = r?.outcome.runIds?.[0] ?? '';
    await started(h, first);
    await test(h, first);
  } finally {
    await closeAll(h);
  }
}

describe('overlap policies with a long run (passes at injected instants, runs launched at once in-process)', () => {
  it("'skip': the next tick is SKIPPED naming the run in progress", async () => {
    await withLongRun('overlap-skip', async (h, first) => {
      const [r] = await h.pass('2026-01-01T00:01:05Z', ['overlap-skip']);
      expect(r?.outcome).toEqual({ status: 'SKIPPED', reason: `overlap: run ${first} is still in progress` });
      expect(await runsOf(h, 'overlap-skip')).toHaveLength(1);
    });
  }, 60_000);

  it("'allow': the next tick launches beside the run in progress", async () => {
    await withLongRun('overlap-allow', async (h) => {
      const [r] = await h.pass('2026-01-01T00:01:05Z', ['overlap-allow']);
      expect(r?.outcome.status).toBe('SUCCESS');
      await started(h, r?.outcome.runIds?.[0]);
      expect((await runsOf(h, 'overlap-allow')).map((x) => x.status)).toEqual(['STARTED', 'STARTED']);
    });
  }, 60_000);

  it("'cancel-other': the run in progress is canceled and the new one launches, the tick naming it", async () => {
    await withLongRun('overlap-cancel-other', async (h, first) => {
      const [r] = await h.pass('2026-01-01T00:01:05Z', ['overlap-cancel-other']);
      expect(r?.outcome).toMatchObject({ status: 'SUCCESS', reason: `overlap: canceled run ${first}` });
      expect((await ended(h, first)).status).toBe('CANCELED');
      await started(h, r?.outcome.runIds?.[0]);
    });
  }, 60_000);

  it("'buffer-one': one instant waits for the run in progress, the ones after it are SKIPPED; it launches when the run ends", async () => {
    await withLongRun('overlap-buffer-one', async (h, first) => {
      const store = h.instance.storage.schedules;
      expect(await h.pass('2026-01-01T00:01:05Z', ['overlap-buffer-one'])).toEqual([]);
      expect((await store?.getSchedule('overlap-buffer-one'))?.buffered).toBe(Date.parse('2026-01-01T00:01:00Z'));
      const [skipped] = await h.pass('2026-01-01T00:02:05Z', ['overlap-buffer-one']);
      expect(skipped?.outcome).toEqual({
        status: 'SKIPPED',
        reason: `overlap: run ${first} is still in progress and 2026-01-01T00:01:00.000Z is buffered`,
      });
      await cancelRun(h.instance, first);
      await ended(h, first);
      const results = await h.pass('2026-01-01T00:03:05Z', ['overlap-buffer-one']);
      // The buffered 00:01 launches (late, so as a catch-up tick); 00:03 is now the buffered one behind it.
      expect(results.map((r) => [r.scheduledAt, r.outcome.status])).toEqual([['2026-01-01T00:01:00.000Z', 'SUCCESS']]);
      expect((await store?.getSchedule('overlap-buffer-one'))?.buffered).toBe(Date.parse('2026-01-01T00:03:00Z'));
      const runs = await runsOf(h, 'overlap-buffer-one');
      expect(runs.map((r) => r.tags['stepwise/scheduled-at'])).toEqual([
        '2026-01-01T00:00:00.000Z',
        '2026-01-01T00:01:00.000Z',
      ]);
      expect(await h.tickLines('overlap-buffer-one')).toEqual([
        '2026-01-01T00:00 SUCCESS',
        '2026-01-01T00:01 SUCCESS',
        '2026-01-01T00:02 SKIPPED',
      ]);
    });
  }, 60_000);
});

describe('launching, jitter and the tick interval', () => {
  it('without runCoordinator.queued a tick launches its run at once; with it the run waits QUEUED for the run queue', async () => {
    const direct = await schedulerHarness();
    try {
      const [r] = await direct.pass('2026-01-01T00:00:05Z', ['minutely']);
      const run = await ended(direct, r?.outcome.runIds?.[0]);
      expect(run.status).toBe('SUCCESS');
      const events = await direct.instance.storage.getEvents(run.runId);
      expect(events.find((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'dequeued')?.message).toMatch(
        /launched at once by scheduler test \(no runCoordinator.queued/,
      );
    } finally {
      await closeAll(direct);
    }
    const queued = await schedulerHarness('runCoordinator: { queued: {} }\n');
    try {
      const [r] = await queued.pass('2026-01-01T00:00:05Z', ['minutely']);
      expect((await queued.instance.storage.getRun(r?.outcome.runIds?.[0] ?? ''))?.status).toBe('QUEUED');
    } finally {
      await closeAll(queued);
    }
  }, 60_000);

  it('jitter delays the launch by the same per-tick amount: not before instant + delay, then once', async () => {
    const h = await schedulerHarness('runCoordinator: { queued: {} }\n');
    try {
      const at = '2026-01-01T01:00:00.000Z';
      const delay = jitterDelayMs('jittered', at, 30_000);
      expect(delay).toBeGreaterThan(0);
      const iso = (ms: number) => new Date(Date.parse(at) + ms).toISOString();
      expect(await h.pass(iso(delay - 1), ['jittered'])).toEqual([]);
      expect((await h.pass(iso(delay), ['jittered'])).map((r) => [r.scheduledAt, r.outcome.status])).toEqual([
        [at, 'SUCCESS'],
      ]);
      expect(await h.pass(iso(delay + 10_000), ['jittered'])).toEqual([]);
      expect(await h.tickLines('jittered')).toEqual(['2026-01-01T01:00 SUCCESS']);
    } finally {
      await closeAll(h);
    }
  }, 60_000);

  it("the daemon's scheduler loop runs every scheduler.tickIntervalMs of stepwise.yaml", async () => {
    const instance = await Instance.local(
      makeHome('scheduler: { tickIntervalMs: 250 }\nrunCoordinator: { queued: {} }\n'),
    );
    const loop = schedulerLoop(POLICY_SCHEDULES);
    if (!loop) throw new Error('no loop');
    const logger = pino({ level: 'silent' });
    const daemon = await startDaemon({ instance, runQueue: false, monitor: false, loops: [loop], logger });
    try {
      const scheduler = daemon.loops.find((l) => l.name === 'scheduler');
      expect(scheduler?.status.intervalMs).toBe(250);
      await waitUntil(() => scheduler?.status.lastIterationAt !== undefined, 30_000, 'a scheduler pass');
    } finally {
      await daemon.stop();
      await instance.close();
    }
  }, 60_000);
});
