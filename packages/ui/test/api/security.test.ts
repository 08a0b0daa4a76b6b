import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiErrorResponse, MetaResponse, RunDetailResponse, SubmitRunResponse } from '../../src/index.js';
import { call, openInstance, type TestInstance, uiApp } from './support.js';

describe('security (SPEC §11)', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await openInstance('sqlite');
  });
  afterAll(async () => t?.dispose());

  it('with a token, every API call needs it: bearer or the session cookie set by /?token=T', async () => {
    const app = uiApp(t.instance, { token: 's3cret-token' });
    const none = await call<ApiErrorResponse>(app, 'GET', '/api/runs');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    expect((await call(app, 'GET', '/api/runs', undefined, { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await call(app, 'GET', '/api/runs', undefined, { Authorization: 'Bearer s3cret-token' })).status).toBe(200);
    expect((await call(app, 'POST', '/api/validate', {})).status).toBe(401);
    expect((await call(app, 'GET', '/healthz')).status).toBe(200);

    const wrong = await app.request('/?token=nope');
    expect(wrong.status).toBe(401);
    const opened = await app.request('/runs?token=s3cret-token&x=1');
    expect(opened.status).toBe(302);
    expect(opened.headers.get('location')).toBe('/runs?x=1');
    const cookie = opened.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toContain('s3cret-token');
    const session = cookie.split(';')[0] as string;
    const meta = await call<MetaResponse>(app, 'GET', '/api/meta', undefined, { Cookie: session });
    expect(meta).toMatchObject({ status: 200, body: { tokenRequired: true, readOnly: false } });
    expect((await call(app, 'GET', '/api/runs', undefined, { Cookie: `${session}x` })).status).toBe(401);
  });

  it('refuses state-changing calls from another origin (403), with or without a token', async () => {
    const app = uiApp(t.instance);
    const foreign = await call<ApiErrorResponse>(
      app,
      'POST',
      '/api/runs',
      { pipeline: 'etl' },
      {
        Origin: 'http://evil.example',
      },
    );
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatchObject({ code: 'FORBIDDEN_ORIGIN' });
    expect((await call(app, 'POST', '/api/runs/x/cancel', undefined, { Origin: 'null' })).status).toBe(403);
    const same = await call(app, 'POST', '/api/runs', { pipeline: 'etl' }, { Origin: 'http://localhost' });
    expect(same.status).toBe(201);
    // Reads are not state-changing: a foreign Origin may read (CORS still keeps the answer from its page).
    expect((await call(app, 'GET', '/api/runs', undefined, { Origin: 'http://evil.example' })).status).toBe(200);
  });

  it('read-only answers 403 to every state-changing call and says so in meta', async () => {
    const app = uiApp(t.instance, { readOnly: true });
    for (const path of [
      '/api/runs',
      '/api/schedules/nightly/stop',
      '/api/runs/x/cancel',
      '/api/runs/x/reexecute',
      '/api/schedules/nightly/start',
    ]) {
      const r = await call<ApiErrorResponse>(app, 'POST', path, {});
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('READ_ONLY');
    }
    expect((await call<MetaResponse>(app, 'GET', '/api/meta')).body.readOnly).toBe(true);
    // Validation changes nothing: still answered.
    expect((await call(app, 'POST', '/api/validate', { pipeline: 'etl' })).status).toBe(200);
    expect((await call(app, 'GET', '/api/runs')).status).toBe(200);
  });

  it('never answers a secret: tags and config values named like secrets are masked in storage', async () => {
    const app = uiApp(t.instance);
    const { body } = await call<SubmitRunResponse>(app, 'POST', '/api/runs', {
      pipeline: 'etl',
      tags: { password: 'hunter2-long-secret', team: 'ml' },
    });
    const detail = await call<RunDetailResponse>(app, 'GET', `/api/runs/${body.runId}`);
    const list = await call(app, 'GET', '/api/runs');
    const events = await call(app, 'GET', `/api/runs/${body.runId}/events`);
    for (const answer of [detail, list, events]) expect(JSON.stringify(answer.body)).not.toContain('hunter2');
    expect(detail.body.run.tags.team).toBe('ml');
  });
});
