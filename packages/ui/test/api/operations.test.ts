import { deletePrefix, spawnWorker, uniquePrefix, type WorkerProcess, waitUntil } from '@stepwise/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type {
  ApiErrorResponse,
  DaemonsResponse,
  PipelinesResponse,
  PlanJson,
  ScheduleStatusResponse,
  SchedulesResponse,
  TicksResponse,
  WorkersResponse,
} from '../../src/index.js';
import { call, openInstance, PIPELINES, runFixture, STORAGE_KINDS, type TestInstance, uiApp } from './support.js';

describe.each(STORAGE_KINDS)('pipelines, schedules and daemons on %s', (kind) => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await openInstance(kind);
  });
  afterAll(async () => t?.dispose());

  it("lists the file's pipelines with their steps and schedules, and builds a plan", async () => {
    const app = uiApp(t.instance);
    const list = await call<PipelinesResponse>(app, 'GET', '/api/pipelines');
    expect(list.status).toBe(200);
    expect(list.body.pipelines.map((p) => p.name)).toEqual(['etl', 'flaky', 'fan', 'slow']);
    const etl = list.body.pipelines[0];
    expect(etl?.schedules).toEqual(['nightly']);
    expect(etl?.steps).toEqual([
      expect.objectContaining({ key: 'extract', queue: 'io', upstream: [], fansOut: false }),
      expect.objectContaining({ key: 'total', queue: 'default', upstream: ['extract'] }),
    ]);
    const fan = list.body.pipelines[2];
    expect(fan?.steps.find((s) => s.key === 'split')?.fansOut).toBe(true);
    expect(fan?.steps.find((s) => s.key === 'double')?.mappedBy).toBe('split');
    const plan = await call<PlanJson>(app, 'GET', '/api/pipelines/etl/plan');
    expect(plan.status).toBe(200);
    expect(plan.body.steps.map((s) => s.key)).toEqual(['extract', 'total']);
    const needs = await call<ApiErrorResponse>(app, 'GET', '/api/pipelines/fan/plan');
    expect(needs.status).toBe(400);
    expect(needs.body.error.code).toBe('CONFIG_INVALID');
    const given = await call<PlanJson>(
      app,
      'GET',
      `/api/pipelines/fan/plan?runConfig=${encodeURIComponent('ops: { count: { config: { n: 2 } } }')}`,
    );
    expect(given.status).toBe(200);
    const unknown = await call<ApiErrorResponse>(app, 'GET', '/api/pipelines/nope/plan');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain("'nope'");
  });

  it('shows schedules with next ticks, starts and stops them, lists ticks; 404 for an unknown one', async () => {
    const app = uiApp(t.instance);
    const list = await call<SchedulesResponse>(app, 'GET', '/api/schedules');
    expect(list.status).toBe(200);
    expect(list.body.schedules).toEqual([
      expect.objectContaining({
        name: 'nightly',
        pipeline: 'etl',
        cron: ['0 3 * * *'],
        status: 'stopped',
        lastTick: null,
      }),
    ]);
    expect(list.body.schedules[0]?.nextTicks).toHaveLength(5);
    expect(list.body.schedules[0]?.nextTicks[0]?.utc).toMatch(/T03:00:00/);
    const started = await call<ScheduleStatusResponse>(app, 'POST', '/api/schedules/nightly/start');
    expect(started).toMatchObject({ status: 200, body: { schedule: { name: 'nightly', status: 'running' } } });
    expect((await call<SchedulesResponse>(app, 'GET', '/api/schedules')).body.schedules[0]?.status).toBe('running');
    const stopped = await call<ScheduleStatusResponse>(app, 'POST', '/api/schedules/nightly/stop');
    expect(stopped.body.schedule.status).toBe('stopped');
    const ticks = await call<TicksResponse>(app, 'GET', '/api/schedules/nightly/ticks');
    expect(ticks).toMatchObject({ status: 200, body: { schedule: 'nightly', ticks: [] } });
    for (const [method, path] of [
      ['GET', '/api/schedules/nope/ticks'],
      ['POST', '/api/schedules/nope/start'],
    ] as const) {
      const r = await call<ApiErrorResponse>(app, method, path);
      expect(r.status).toBe(404);
      expect(r.body.error.message).toContain("'nope'");
    }
  });

  it('lists daemons from their heartbeats, alive or not', async () => {
    const now = Date.now();
    await t.instance.storage.putDaemonHeartbeat({
      daemonId: 'd-live',
      host: 'h',
      pid: 1,
      startedAt: now - 5000,
      updatedAt: now,
      loops: { runQueue: { intervalMs: 1000, lastIterationAt: now, lastDurationMs: 3 } },
    });
    await t.instance.storage.putDaemonHeartbeat({
      daemonId: 'd-old',
      host: 'h',
      pid: 2,
      startedAt: 0,
      updatedAt: 0,
      loops: {},
    });
    const r = await call<DaemonsResponse>(uiApp(t.instance), 'GET', '/api/daemons');
    expect(r.status).toBe(200);
    const byId = new Map(r.body.daemons.map((d) => [d.daemonId, d]));
    expect(byId.get('d-live')).toMatchObject({ alive: true, loops: { runQueue: { intervalMs: 1000 } } });
    expect(byId.get('d-old')?.alive).toBe(false);
  });
});

describe('workers page on real workers and Redis', () => {
  const redisUrl = inject('redisUrl');
  const prefix = uniquePrefix('ui');
  let t: TestInstance;
  let io: WorkerProcess;
  let other: WorkerProcess;
  beforeAll(async () => {
    t = await openInstance('sqlite');
    io = spawnWorker({ file: PIPELINES, redisUrl, prefix, name: 'w-io', queues: ['io'], concurrency: 2 });
    other = spawnWorker({ file: PIPELINES, redisUrl, prefix, name: 'w-default', queues: ['default'], concurrency: 3 });
  });
  afterAll(async () => {
    await Promise.all([io?.stop(), other?.stop()]);
    await t?.dispose();
    await deletePrefix(redisUrl, prefix);
  });

  it('shows live workers with slots and queues, a SIGKILLed one as lost, and says when Redis is not configured', {
    timeout: 120_000,
  }, async () => {
    const app = uiApp(t.instance, { redis: { url: redisUrl, prefix } });
    try {
      let page: WorkersResponse | undefined;
      await waitUntil(
        async () => {
          page = (await call<WorkersResponse>(app, 'GET', '/api/workers')).body;
          return page.workers.length === 2;
        },
        45_000,
        'both workers in the registry',
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}; got ${JSON.stringify(page)}; worker output: ${io.output()} ${other.output()}`,
        );
      });
      expect(page?.redis).toMatchObject({ configured: true, error: null });
      const byName = new Map(page?.workers.map((w) => [w.name, w]));
      expect(byName.get('w-io')).toMatchObject({ queues: ['io'], concurrency: 2, used: 0, free: 2, draining: false });
      expect(byName.get('w-default')).toMatchObject({ queues: ['default'], free: 3 });
      expect(page?.queues.map((q) => q.name)).toEqual(['default', 'io']);
      expect(page?.queues.find((q) => q.name === 'io')).toMatchObject({
        workers: 1,
        slots: 2,
        freeSlots: 2,
        noWorker: false,
        counts: { waiting: 0, active: 0 },
      });
      // A queue run's step on w-io: the page shows it running there, the slot used, the job active.
      const running = runFixture(t.instance, 'slow', { execution: { queue: { redisUrl, prefix } } });
      await waitUntil(
        async () => {
          page = (await call<WorkersResponse>(app, 'GET', '/api/workers')).body;
          return page.workers.find((w) => w.name === 'w-io')?.running.some((r) => r.stepKey === 'nap');
        },
        30_000,
        'nap running on w-io',
      );
      expect(page?.workers.find((w) => w.name === 'w-io')).toMatchObject({ used: 1, free: 1 });
      expect(page?.queues.find((q) => q.name === 'io')?.counts.active).toBe(1);
      expect((await running).status).toBe('SUCCESS');
      io.proc.kill('SIGKILL');
      await waitUntil(
        async () => {
          page = (await call<WorkersResponse>(app, 'GET', '/api/workers')).body;
          return page.lost.some((l) => l.name === 'w-io');
        },
        30_000,
        'the killed worker shown lost',
      );
      expect(page?.workers.map((w) => w.name)).toEqual(['w-default']);
      expect(page?.lost[0]).toMatchObject({ name: 'w-io', queues: ['io'] });
    } finally {
      await app.close();
    }
    const none = await call<WorkersResponse>(uiApp(t.instance), 'GET', '/api/workers');
    expect(none.body).toEqual({
      redis: { configured: false, url: null, error: null },
      workers: [],
      lost: [],
      queues: [],
    });
  });
});
