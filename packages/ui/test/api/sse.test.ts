import { makeEvent, type StoredEvent } from '@stepwise/core';
import { testRunRecord, uniqueId } from '@stepwise/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, RunStatusFrame } from '../../src/index.js';
import { openSse } from './sse-client.js';
import { openInstance, STORAGE_KINDS, type TestInstance, uiApp } from './support.js';

const seqsOf = (messages: { event: string; data: unknown }[]) =>
  messages.filter((m) => m.event === 'event').map((m) => (m.data as ApiEvent).seq);

describe.each(STORAGE_KINDS)('SSE live tail of /api/runs/:id/events on %s', (kind) => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await openInstance(kind);
  });
  afterAll(async () => t?.dispose());

  async function newRun(): Promise<string> {
    const runId = uniqueId('sse');
    await t.instance.storage.createRun(testRunRecord(runId, { status: 'STARTED' }));
    return runId;
  }
  const log = (runId: string, n: number, stepKey = 'a') =>
    Array.from({ length: n }, (_, i) =>
      makeEvent('LOG', runId, { level: 'info', msg: `line ${i}` }, { stepKey, attempt: 1 }),
    );

  it('tails appended events with id = seq, batched, then its status change, and heartbeats', async () => {
    const runId = await newRun();
    await t.instance.storage.appendEvents(log(runId, 3));
    const app = uiApp(t.instance, { heartbeatMs: 200 });
    const sse = await openSse(app, `/api/runs/${runId}/events`);
    try {
      expect(sse.status).toBe(200);
      expect(sse.contentType).toContain('text/event-stream');
      await sse.until((m) => seqsOf(m).length === 3, 'the 3 stored events');
      await t.instance.storage.appendEvents(log(runId, 50));
      await sse.until((m) => seqsOf(m).length === 53, 'the 50 appended events');
      expect(seqsOf(sse.messages)).toEqual(Array.from({ length: 53 }, (_, i) => i + 1));
      const events = sse.messages.filter((m) => m.event === 'event');
      expect(events.every((m) => m.id === String((m.data as StoredEvent).seq))).toBe(true);
      // 50 events appended at once travel in far fewer writes than events.
      expect(sse.chunks).toBeLessThan(20);
      await t.instance.storage.updateRun(runId, { status: 'SUCCESS', endedAt: Date.now() });
      await sse.until(
        (m) => m.some((x) => x.event === 'run' && (x.data as RunStatusFrame).run.status === 'SUCCESS'),
        'the status change',
      );
      await sse.until(() => sse.comments.includes('hb'), 'a heartbeat');
    } finally {
      await sse.close();
    }
  });

  it('resumes after Last-Event-ID (which wins over afterSeq) with no duplicate and no gap', async () => {
    const runId = await newRun();
    await t.instance.storage.appendEvents(log(runId, 10));
    const app = uiApp(t.instance);
    const first = await openSse(app, `/api/runs/${runId}/events?afterSeq=0`);
    await first.until((m) => seqsOf(m).length === 10, 'the first 10 events');
    const lastId = first.messages.filter((m) => m.event === 'event').at(-1)?.id as string;
    await first.close();
    await t.instance.storage.appendEvents(log(runId, 5));
    const second = await openSse(app, `/api/runs/${runId}/events?afterSeq=2`, { 'Last-Event-ID': lastId });
    try {
      await second.until((m) => seqsOf(m).length === 5, 'the 5 events after the reconnect');
      await t.instance.storage.appendEvents(log(runId, 2));
      await second.until((m) => seqsOf(m).length === 7, 'the 2 later events');
      expect([...seqsOf(first.messages), ...seqsOf(second.messages)]).toEqual(
        Array.from({ length: 17 }, (_, i) => i + 1),
      );
    } finally {
      await second.close();
    }
  });

  it('applies the filters of the JSON route to the tail', async () => {
    const runId = await newRun();
    await t.instance.storage.appendEvents([...log(runId, 4, 'a'), ...log(runId, 3, 'b')]);
    const sse = await openSse(uiApp(t.instance), `/api/runs/${runId}/events?stepKey=b&text=line%202`);
    try {
      await sse.until((m) => seqsOf(m).length === 1, 'the one matching event');
      expect((sse.messages.find((m) => m.event === 'event')?.data as ApiEvent | undefined)?.stepKey).toBe('b');
    } finally {
      await sse.close();
    }
    const bad = await uiApp(t.instance).request(`/api/runs/${runId}/events`, {
      headers: { Accept: 'text/event-stream', 'Last-Event-ID': 'x' },
    });
    expect(bad.status).toBe(400);
  });
});
