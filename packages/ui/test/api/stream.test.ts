import { makeEvent } from '@stepwise/core';
import { deletePrefix, testRunRecord, uniqueId, uniquePrefix } from '@stepwise/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunEventsFrame, RunsFrame, StepsFrame, StreamHelloFrame, WorkersResponse } from '../../src/index.js';
import { openSse, type SseMessage } from './sse-client.js';
import { call, openInstance, runFixture, STORAGE_KINDS, type TestInstance, uiApp } from './support.js';

const eventSeqs = (messages: SseMessage[]) =>
  messages.filter((m) => m.event === 'run-events').flatMap((m) => (m.data as RunEventsFrame).events.map((e) => e.seq));

describe.each(STORAGE_KINDS)("a tab's one stream (/api/stream) on %s", (kind) => {
  const redisUrl = inject('redisUrl');
  const prefix = uniquePrefix('ui-stream');
  let t: TestInstance;
  let template: string;
  beforeAll(async () => {
    t = await openInstance(kind);
    template = (await runFixture(t.instance, 'etl')).runId;
  });
  afterAll(async () => {
    await t?.dispose();
    await deletePrefix(redisUrl, prefix);
  });

  /** A STARTED run of etl's plan whose events the test writes, as a coordinator would. */
  async function liveRun(): Promise<string> {
    const plan = (await t.instance.storage.getRun(template))?.plan;
    const runId = uniqueId('live');
    await t.instance.storage.createRun(
      testRunRecord(runId, { status: 'STARTED', pipeline: 'etl', ...(plan ? { plan } : {}) }),
    );
    await t.instance.storage.appendEvents([makeEvent('RUN_START', runId, { stepCount: 2 })]);
    return runId;
  }

  it('carries run events (id = last seq), changed step rows, run status, the runs list and workers', async () => {
    const runId = await liveRun();
    const app = uiApp(t.instance, { redis: { url: redisUrl, prefix } });
    const sse = await openSse(app, `/api/stream?run=${runId}&runs=1&workers=1`);
    try {
      await sse.until((m) => m.some((x) => x.event === 'hello'), 'hello');
      expect(sse.messages[0]?.data as StreamHelloFrame).toEqual({ afterSeq: 0, topics: ['run', 'runs', 'workers'] });
      await sse.until((m) => eventSeqs(m).length === 1 && m.some((x) => x.event === 'run'), 'the history and status');
      await sse.until((m) => m.some((x) => x.event === 'workers'), 'the workers frame');
      expect((sse.messages.find((m) => m.event === 'workers')?.data as WorkersResponse | undefined)?.workers).toEqual(
        [],
      );
      await t.instance.storage.appendEvents([
        makeEvent('STEP_START', runId, {}, { stepKey: 'extract', attempt: 1, workerId: 'w1' }),
      ]);
      await sse.until(
        (m) =>
          m.some(
            (x) =>
              x.event === 'steps' &&
              (x.data as StepsFrame).steps.some((s) => s.key === 'extract' && s.status === 'RUNNING'),
          ),
        'extract running in a steps frame',
      );
      const frame = sse.messages.filter((m) => m.event === 'run-events').at(-1);
      expect(frame?.id).toBe(String((frame?.data as RunEventsFrame | undefined)?.lastSeq));
      const steps = sse.messages.find((m) => m.event === 'steps')?.data as StepsFrame;
      expect(steps.steps.find((s) => s.key === 'extract')).toMatchObject({ workerId: 'w1', attempts: 1 });
      // A new run and an ended run reach the runs list.
      const other = await call<{ runId: string }>(app, 'POST', '/api/runs', { pipeline: 'etl' });
      await t.instance.storage.updateRun(runId, { status: 'SUCCESS', endedAt: Date.now() });
      await sse.until((m) => {
        const runs = m.filter((x) => x.event === 'runs').flatMap((x) => (x.data as RunsFrame).runs);
        return (
          runs.some((r) => r.runId === other.body.runId) &&
          runs.some((r) => r.runId === runId && r.status === 'SUCCESS')
        );
      }, 'both runs in runs frames');
    } finally {
      await sse.close();
      await app.close();
    }
  });

  it('resumes after Last-Event-ID with no duplicate, and filters the events it carries', async () => {
    const runId = await liveRun();
    const app = uiApp(t.instance);
    const log = (n: number, stepKey: string) =>
      Array.from({ length: n }, (_, i) => makeEvent('LOG', runId, { level: 'info', msg: `m${i}` }, { stepKey }));
    await t.instance.storage.appendEvents(log(5, 'extract'));
    const first = await openSse(app, `/api/stream?run=${runId}`);
    await first.until((m) => eventSeqs(m).length === 6, 'the first 6 events');
    const last = first.messages.filter((m) => m.event === 'run-events').at(-1)?.id as string;
    await first.close();
    await t.instance.storage.appendEvents(log(3, 'total'));
    const second = await openSse(app, `/api/stream?run=${runId}&afterSeq=1`, { 'Last-Event-ID': last });
    try {
      await second.until((m) => eventSeqs(m).length === 3, 'the 3 new events');
      expect([...eventSeqs(first.messages), ...eventSeqs(second.messages)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await second.close();
    }
    const filtered = await openSse(app, `/api/stream?run=${runId}&stepKey=total`);
    try {
      await filtered.until(
        (m) => m.some((x) => x.event === 'run-events' && (x.data as RunEventsFrame).lastSeq === 9),
        'the log end',
      );
      expect(eventSeqs(filtered.messages)).toEqual([7, 8, 9]);
    } finally {
      await filtered.close();
    }
    expect((await call(app, 'GET', '/api/stream')).status).toBe(400);
    const unknown = await app.request('/api/stream?run=nope', { headers: { Accept: 'text/event-stream' } });
    expect(unknown.status).toBe(404);
    await app.close();
  });
});
