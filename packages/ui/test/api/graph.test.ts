import { makeEvent } from '@stepwise/core';
import { deletePrefix, testRunRecord, uniqueId, uniquePrefix } from '@stepwise/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApiErrorResponse, GraphLayout, SubmitRunResponse, WaitingResponse } from '../../src/index.js';
import { call, openInstance, runFixture, type TestInstance, uiApp } from './support.js';

describe('plan graphs laid out on the server, and why steps wait', () => {
  const redisUrl = inject('redisUrl');
  const prefix = uniquePrefix('ui-wait');
  let t: TestInstance;
  let fanRun: string;
  let etlRun: string;
  beforeAll(async () => {
    t = await openInstance('sqlite');
    fanRun = (await runFixture(t.instance, 'fan', { ops: { count: { config: { n: 3 } } } })).runId;
    etlRun = (await runFixture(t.instance, 'etl')).runId;
  });
  afterAll(async () => {
    await t?.dispose();
    await deletePrefix(redisUrl, prefix);
  });

  it("lays out a pipeline's graph top-down, a fan-out folded into one group node", async () => {
    const app = uiApp(t.instance);
    const etl = await call<GraphLayout>(app, 'GET', '/api/pipelines/etl/graph');
    expect(etl.status).toBe(200);
    const [extract, total] = etl.body.nodes;
    expect(etl.body.nodes.map((n) => n.id)).toEqual(['extract', 'total']);
    expect((total?.y ?? 0) > (extract?.y ?? 0)).toBe(true);
    expect(etl.body.edges).toEqual([expect.objectContaining({ from: 'extract', to: 'total' })]);
    expect(etl.body.edges[0]?.points.length).toBeGreaterThanOrEqual(2);
    expect(etl.body.width).toBeGreaterThan(0);
    const fan = await call<GraphLayout>(app, 'GET', '/api/pipelines/fan/graph');
    expect(fan.body.nodes.find((n) => n.stepKey === 'double')).toMatchObject({
      kind: 'group',
      id: 'group:double',
      count: 0,
    });
    expect((await call<ApiErrorResponse>(app, 'GET', '/api/pipelines/nope/graph')).status).toBe(404);
  });

  it("paints a run's statuses on its graph; expand lays the copies out one node each; the layout is cached", async () => {
    const app = uiApp(t.instance);
    const folded = await call<GraphLayout>(app, 'GET', `/api/runs/${fanRun}/graph`);
    expect(folded.status).toBe(200);
    const group = folded.body.nodes.find((n) => n.kind === 'group');
    expect(group).toMatchObject({ stepKey: 'double', count: 3, statusCounts: { SUCCESS: 3 }, status: 'SUCCESS' });
    expect(folded.body.nodes.find((n) => n.id === 'sum')?.status).toBe('SUCCESS');
    const open = await call<GraphLayout>(app, 'GET', `/api/runs/${fanRun}/graph?expand=double`);
    const copies = open.body.nodes.filter((n) => n.stepKey.startsWith('double['));
    expect(copies).toHaveLength(3);
    const fromSplit = open.body.edges.filter((e) => e.from === 'split' && e.to.startsWith('double['));
    expect(fromSplit.map((e) => e.to).sort()).toEqual(copies.map((c) => c.id).sort());
    expect(open.body.edges.filter((e) => e.to === 'sum' && e.from.startsWith('double['))).toHaveLength(3);
    const again = await call<GraphLayout>(app, 'GET', `/api/runs/${fanRun}/graph?expand=double`);
    expect(again.body.nodes.map((n) => [n.id, n.x, n.y])).toEqual(open.body.nodes.map((n) => [n.id, n.x, n.y]));
  });

  it('says why steps wait: the run queue, upstream, no worker on the queue', async () => {
    const app = uiApp(t.instance, { redis: { url: redisUrl, prefix } });
    try {
      const queued = await call<SubmitRunResponse>(app, 'POST', '/api/runs', { pipeline: 'etl' });
      const q = await call<WaitingResponse>(app, 'GET', `/api/runs/${queued.body.runId}/waiting`);
      expect(q.status).toBe(200);
      expect(q.body.steps.map((s) => s.key)).toEqual(['extract', 'total']);
      expect(q.body.steps[0]?.reasons).toEqual([{ kind: 'run-queued', position: 1, limit: null }]);

      const plan = (await t.instance.storage.getRun(etlRun))?.plan;
      const runId = uniqueId('waiting');
      await t.instance.storage.createRun(
        testRunRecord(runId, {
          status: 'STARTED',
          pipeline: 'etl',
          runConfig: { execution: { queue: {} } },
          ...(plan ? { plan } : {}),
        }),
      );
      await t.instance.storage.appendEvents([makeEvent('RUN_START', runId, { stepCount: 2 })]);
      const w = await call<WaitingResponse>(app, 'GET', `/api/runs/${runId}/waiting`);
      const byKey = new Map(w.body.steps.map((s) => [s.key, s.reasons]));
      expect(byKey.get('total')).toEqual([{ kind: 'upstream', steps: ['extract'] }]);
      expect(byKey.get('extract')).toEqual([{ kind: 'no-worker', queue: 'io' }]);
      const done = await call<WaitingResponse>(app, 'GET', `/api/runs/${etlRun}/waiting`);
      expect(done.body.steps).toEqual([]);
      expect((await call(app, 'GET', '/api/runs/nope/waiting')).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
