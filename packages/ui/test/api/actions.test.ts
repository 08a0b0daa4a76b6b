import { PARENT_RUN_TAG } from '@stepwise/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ApiErrorResponse,
  CancelRunResponse,
  ReexecuteResponse,
  RunDetailResponse,
  SubmitRunResponse,
  ValidateResponse,
} from '../../src/index.js';
import { call, openInstance, runFixture, STORAGE_KINDS, type TestInstance, uiApp } from './support.js';

const BAD_YAML = 'ops:\n  count:\n    config:\n      n: "three"\n';

describe.each(STORAGE_KINDS)('actions on %s', (kind) => {
  let t: TestInstance;
  let failedRun: string;
  beforeAll(async () => {
    t = await openInstance(kind);
    failedRun = (await runFixture(t.instance, 'flaky')).runId;
  });
  afterAll(async () => t?.dispose());

  it('validates a config given as an object or as YAML, locating each error at its line', async () => {
    const app = uiApp(t.instance);
    const good = await call<ValidateResponse>(app, 'POST', '/api/validate', {
      pipeline: 'fan',
      runConfig: { ops: { count: { config: { n: 2 } } } },
    });
    expect(good).toMatchObject({ status: 200, body: { ok: true, errors: [] } });
    const bad = await call<ValidateResponse>(app, 'POST', '/api/validate', { pipeline: 'fan', runConfig: BAD_YAML });
    expect(bad.status).toBe(200);
    expect(bad.body.ok).toBe(false);
    expect(bad.body.errors).toHaveLength(1);
    expect(bad.body.errors[0]).toMatchObject({ path: 'ops.count.config.n', line: 4, column: 10 });
    expect(bad.body.errors[0]?.message).toMatch(/number/);
    expect(BAD_YAML.slice(bad.body.errors[0]?.from, bad.body.errors[0]?.to)).toBe('"three"');
    const missing = await call<ValidateResponse>(app, 'POST', '/api/validate', { pipeline: 'fan', runConfig: '' });
    expect(missing.body.errors.map((e) => e.path)).toEqual(['ops.count.config']);
    const syntax = await call<ValidateResponse>(app, 'POST', '/api/validate', {
      pipeline: 'etl',
      runConfig: 'ops:\n  extract: [1,\n',
    });
    expect(syntax.body.ok).toBe(false);
    expect(syntax.body.errors[0]).toMatchObject({ path: '' });
    expect(syntax.body.errors[0]?.line).toBeGreaterThanOrEqual(2);
    const unknownKey = await call<ValidateResponse>(app, 'POST', '/api/validate', {
      pipeline: 'etl',
      runConfig: 'opz: {}\n',
    });
    expect(unknownKey.body.errors[0]).toMatchObject({ path: 'opz', line: 1 });
  });

  it('answers 400 for malformed JSON and 404 for an unknown pipeline', async () => {
    const app = uiApp(t.instance);
    const json = await call<ApiErrorResponse>(app, 'POST', '/api/validate', '{"pipeline":');
    expect(json.status).toBe(400);
    expect(json.body.error.code).toBe('INVALID_JSON');
    expect(json.body.error.message).toContain('POST /api/validate');
    const arr = await call<ApiErrorResponse>(app, 'POST', '/api/runs', '[1]');
    expect(arr.body.error).toMatchObject({ code: 'BAD_REQUEST' });
    const unknown = await call<ApiErrorResponse>(app, 'POST', '/api/runs', { pipeline: 'nope' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain("'nope'");
    const several = await call<ApiErrorResponse>(app, 'POST', '/api/runs', {});
    expect(several.status).toBe(400);
    expect(several.body.error.message).toContain('pipelines');
    const noFile = await call<ApiErrorResponse>(uiApp(t.instance, { file: undefined }), 'POST', '/api/validate', {});
    expect(noFile.status).toBe(400);
    expect(noFile.body.error.message).toContain('-f FILE');
  });

  it('submits a run QUEUED, refusing a bad config with the errors of validate', async () => {
    const app = uiApp(t.instance);
    const bad = await call<ApiErrorResponse>(app, 'POST', '/api/runs', { pipeline: 'fan', runConfig: BAD_YAML });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('CONFIG_INVALID');
    const validated = await call<ValidateResponse>(app, 'POST', '/api/validate', {
      pipeline: 'fan',
      runConfig: BAD_YAML,
    });
    expect(bad.body.error.issues).toEqual(validated.body.errors);
    const ok = await call<SubmitRunResponse>(app, 'POST', '/api/runs', {
      pipeline: 'etl',
      runConfig: 'ops:\n  extract:\n    config: { limit: 2 }\n',
      tags: { team: 'ml' },
      priority: 3,
    });
    expect(ok.status).toBe(201);
    const run = await t.instance.storage.getRun(ok.body.runId);
    expect(run).toMatchObject({
      status: 'QUEUED',
      pipeline: 'etl',
      runConfig: { ops: { extract: { config: { limit: 2 } } } },
    });
    expect(run?.tags).toMatchObject({ team: 'ml', 'stepwise/priority': '3' });
    const tags = await call<ApiErrorResponse>(app, 'POST', '/api/runs', { pipeline: 'etl', tags: { n: 1 } });
    expect(tags.body.error.message).toContain("'tags'");
  });

  it('cancels a queued run (202), and 404 for an unknown one', async () => {
    const app = uiApp(t.instance);
    const { body } = await call<SubmitRunResponse>(app, 'POST', '/api/runs', { pipeline: 'etl' });
    const canceled = await call<CancelRunResponse>(app, 'POST', `/api/runs/${body.runId}/cancel`);
    expect(canceled).toMatchObject({ status: 202, body: { action: 'canceled', status: 'CANCELED' } });
    const again = await call<CancelRunResponse>(app, 'POST', `/api/runs/${body.runId}/cancel`);
    expect(again.body.action).toBe('ended');
    expect((await call(app, 'POST', '/api/runs/nope/cancel')).status).toBe(404);
  });

  it('re-executes from failure: a child run linked to its parent, running the failed step and downstream', async () => {
    const app = uiApp(t.instance);
    const child = await call<ReexecuteResponse>(app, 'POST', `/api/runs/${failedRun}/reexecute`, { fromFailure: true });
    expect(child.status).toBe(201);
    expect(child.body).toMatchObject({ parentRunId: failedRun, steps: ['boom', 'after'], reuse: { side: failedRun } });
    const stored = await t.instance.storage.getRun(child.body.runId);
    expect(stored).toMatchObject({ status: 'QUEUED', parentRunId: failedRun, rootRunId: failedRun });
    expect(stored?.tags[PARENT_RUN_TAG]).toBe(failedRun);
    expect(stored?.plan.selection).toEqual(['boom', 'after']);
    const parent = await call<RunDetailResponse>(app, 'GET', `/api/runs/${failedRun}`);
    expect(parent.body.run.childRunIds).toContain(child.body.runId);
    const selected = await call<ReexecuteResponse>(app, 'POST', `/api/runs/${failedRun}/reexecute`, { select: 'side' });
    expect(selected.body.steps).toEqual(['side']);
    const all = await call<ReexecuteResponse>(app, 'POST', `/api/runs/${failedRun}/reexecute`);
    expect(all.body.steps.sort()).toEqual(['after', 'boom', 'side']);
  });

  it('refuses to re-execute a run still going, a bad selection and a bad body (400)', async () => {
    const app = uiApp(t.instance);
    const { body } = await call<SubmitRunResponse>(app, 'POST', '/api/runs', { pipeline: 'etl' });
    const going = await call<ApiErrorResponse>(app, 'POST', `/api/runs/${body.runId}/reexecute`, {});
    expect(going.status).toBe(400);
    expect(going.body.error.message).toContain('QUEUED');
    const selection = await call<ApiErrorResponse>(app, 'POST', `/api/runs/${failedRun}/reexecute`, {
      select: 'nope+',
    });
    expect(selection.status).toBe(400);
    const both = await call<ApiErrorResponse>(app, 'POST', `/api/runs/${failedRun}/reexecute`, {
      fromFailure: true,
      select: 'side',
    });
    expect(both.status).toBe(400);
    const type = await call<ApiErrorResponse>(app, 'POST', `/api/runs/${failedRun}/reexecute`, { fromFailure: 'yes' });
    expect(type.body.error.message).toContain("'fromFailure'");
    expect((await call(app, 'POST', '/api/runs/nope/reexecute', {})).status).toBe(404);
  });
});
