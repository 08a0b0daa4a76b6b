import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ApiErrorResponse,
  EventsResponse,
  LogsResponse,
  RunDetailResponse,
  RunsListResponse,
} from '../../src/index.js';
import { call, openInstance, runFixture, STORAGE_KINDS, type TestInstance, uiApp } from './support.js';

describe.each(STORAGE_KINDS)('read routes on %s', (kind) => {
  let t: TestInstance;
  let okRun: string;
  let failedRun: string;
  let fanRun: string;
  beforeAll(async () => {
    t = await openInstance(kind);
    okRun = (await runFixture(t.instance, 'etl', { ops: { extract: { config: { limit: 4 } } } })).runId;
    failedRun = (await runFixture(t.instance, 'flaky')).runId;
    fanRun = (await runFixture(t.instance, 'fan', { ops: { count: { config: { n: 3 } } } })).runId;
  });
  afterAll(async () => t?.dispose());

  it('lists runs newest first, filtered by status, pipeline and tag, paged with before', async () => {
    const app = uiApp(t.instance);
    const all = await call<RunsListResponse>(app, 'GET', '/api/runs');
    expect(all.status).toBe(200);
    expect(all.body.runs.map((r) => r.runId)).toEqual([fanRun, failedRun, okRun]);
    expect(all.body.nextBefore).toBeNull();
    expect(all.body.runs[2]).toMatchObject({ pipeline: 'etl', status: 'SUCCESS', parentRunId: null });
    const failed = await call<RunsListResponse>(app, 'GET', '/api/runs?status=FAILURE');
    expect(failed.body.runs.map((r) => r.runId)).toEqual([failedRun]);
    const two = await call<RunsListResponse>(app, 'GET', '/api/runs?status=success,failure&limit=1');
    expect(two.body.runs.map((r) => r.runId)).toEqual([fanRun]);
    const next = await call<RunsListResponse>(app, 'GET', `/api/runs?limit=1&before=${two.body.nextBefore}`);
    expect(next.body.runs.map((r) => r.runId)).toEqual([failedRun]);
    const last = await call<RunsListResponse>(app, 'GET', `/api/runs?limit=1&before=${next.body.nextBefore}`);
    expect(last.body).toMatchObject({ runs: [{ runId: okRun }], nextBefore: null });
    const byPipeline = await call<RunsListResponse>(app, 'GET', '/api/runs?pipeline=fan');
    expect(byPipeline.body.runs.map((r) => r.runId)).toEqual([fanRun]);
    const byTag = await call<RunsListResponse>(app, 'GET', '/api/runs?tag=nope=1');
    expect(byTag.body.runs).toEqual([]);
  });

  it('answers 400 naming the bad query parameter', async () => {
    const app = uiApp(t.instance);
    const bad = await call<ApiErrorResponse>(app, 'GET', '/api/runs?status=DONE');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BAD_REQUEST');
    expect(bad.body.error.message).toContain("'status'");
    expect((await call<ApiErrorResponse>(app, 'GET', '/api/runs?limit=0')).body.error.message).toContain("'limit'");
    expect((await call<ApiErrorResponse>(app, 'GET', '/api/runs?tag=x')).body.error.message).toContain('key=value');
    expect((await call<ApiErrorResponse>(app, 'GET', '/api/runs?before=nope')).status).toBe(400);
  });

  it('shows a run with its steps, attempts, durations, queue and median', async () => {
    const app = uiApp(t.instance);
    const detail = await call<RunDetailResponse>(app, 'GET', `/api/runs/${okRun}`);
    expect(detail.status).toBe(200);
    expect(detail.body.run).toMatchObject({ runId: okRun, status: 'SUCCESS', finished: true, pipeline: 'etl' });
    expect(detail.body.run.lastSeq).toBeGreaterThan(4);
    expect(detail.body.run.runConfig).toEqual({ ops: { extract: { config: { limit: 4 } } } });
    const [extract, total] = detail.body.steps;
    expect(extract).toMatchObject({ key: 'extract', status: 'SUCCESS', attempts: 1, queue: 'io', op: 'extract' });
    expect(total).toMatchObject({ key: 'total', queue: 'default', upstream: ['extract'] });
    expect(extract?.durationMs).toBeGreaterThanOrEqual(0);
    expect(extract?.medianMs).toBeGreaterThanOrEqual(0);
    expect(extract?.attemptsDetail).toHaveLength(1);
    expect(extract?.attemptsDetail[0]).toMatchObject({ attempt: 1, outcome: 'SUCCESS' });
    expect(detail.body.failure).toBeNull();
    expect(detail.body.medianOver).toBe(20);
  });

  it('tells the root failure apart from the steps it kept from running', async () => {
    const app = uiApp(t.instance);
    const detail = await call<RunDetailResponse>(app, 'GET', `/api/runs/${failedRun}`);
    expect(detail.body.run.status).toBe('FAILURE');
    expect(detail.body.failure?.rootSteps.map((s) => s.key)).toEqual(['boom']);
    expect(detail.body.failure?.rootSteps[0]?.error?.message).toContain('boom failed on purpose');
    expect(detail.body.failure?.causedSkips).toEqual(['after']);
    expect(detail.body.failure?.preselect).toBe('boom');
    expect(detail.body.steps.find((s) => s.key === 'side')?.status).toBe('SUCCESS');
  });

  it('lists the mapped copies of a fan-out under their template', async () => {
    const detail = await call<RunDetailResponse>(uiApp(t.instance), 'GET', `/api/runs/${fanRun}`);
    const copies = detail.body.steps.filter((s) => s.planKey === 'double');
    expect(copies.map((s) => s.key).sort()).toEqual(['double[k0]', 'double[k1]', 'double[k2]']);
    expect(copies[0]?.mappingKey).toMatch(/^k\d$/);
  });

  it('answers 404 naming an unknown run', async () => {
    const app = uiApp(t.instance);
    for (const path of ['/api/runs/nope', '/api/runs/nope/events', '/api/runs/nope/logs/x']) {
      const r = await call<ApiErrorResponse>(app, 'GET', path);
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'NOT_FOUND' });
      expect(r.body.error.message).toContain("'nope'");
    }
    const route = await call<ApiErrorResponse>(app, 'GET', '/api/nothing');
    expect(route.status).toBe(404);
  });

  it('pages events with afterSeq and limit, filtered by step, type, attempt and text', async () => {
    const app = uiApp(t.instance);
    const all = await call<EventsResponse>(app, 'GET', `/api/runs/${okRun}/events`);
    expect(all.status).toBe(200);
    const seqs = all.body.events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(all.body).toMatchObject({ hasMore: false, lastSeq: seqs.length });
    const page = await call<EventsResponse>(app, 'GET', `/api/runs/${okRun}/events?afterSeq=2&limit=2`);
    expect(page.body.events.map((e) => e.seq)).toEqual([3, 4]);
    expect(page.body).toMatchObject({ lastSeq: 4, hasMore: true });
    const steps = await call<EventsResponse>(app, 'GET', `/api/runs/${okRun}/events?stepKey=total`);
    expect(steps.body.events.length).toBeGreaterThan(0);
    expect(steps.body.events.every((e) => e.stepKey === 'total')).toBe(true);
    const types = await call<EventsResponse>(app, 'GET', `/api/runs/${okRun}/events?type=STEP_START,STEP_SUCCESS`);
    expect(types.body.events.map((e) => `${e.type}:${e.stepKey}`).sort()).toEqual(
      ['STEP_START:extract', 'STEP_START:total', 'STEP_SUCCESS:extract', 'STEP_SUCCESS:total'].sort(),
    );
    const two = await call<EventsResponse>(
      app,
      'GET',
      `/api/runs/${okRun}/events?stepKey=extract,total&type=STEP_START`,
    );
    expect(two.body.events).toHaveLength(2);
    const attempt2 = await call<EventsResponse>(app, 'GET', `/api/runs/${okRun}/events?attempt=2`);
    expect(attempt2.body.events).toEqual([]);
    const text = await call<EventsResponse>(app, 'GET', `/api/runs/${failedRun}/events?text=BOOM%20FAILED`);
    expect(text.body.events.map((e) => e.type)).toContain('STEP_FAILURE');
    expect(text.body.events.every((e) => JSON.stringify(e).toLowerCase().includes('boom failed'))).toBe(true);
    const bad = await call<ApiErrorResponse>(app, 'GET', `/api/runs/${okRun}/events?type=NOPE`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('NOPE');
  });

  it("serves a step's captured stdout and stderr, from an offset", async () => {
    const app = uiApp(t.instance);
    const logs = await call<LogsResponse>(app, 'GET', `/api/runs/${okRun}/logs/extract`);
    expect(logs.status).toBe(200);
    expect(logs.body.stdout).toContain('extracting 4 rows');
    expect(logs.body.stderr).toContain('a warning on stderr');
    const tail = await call<LogsResponse>(
      app,
      'GET',
      `/api/runs/${okRun}/logs/extract?stdoutFrom=${logs.body.stdoutLength}`,
    );
    expect(tail.body).toMatchObject({ stdout: '', stdoutLength: logs.body.stdoutLength });
    const unknown = await call<ApiErrorResponse>(app, 'GET', `/api/runs/${okRun}/logs/nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain("'nope'");
  });
});
