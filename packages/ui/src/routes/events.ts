import type { Context, Hono } from 'hono';
import type { EventsResponse } from '../api-types.js';
import { UiRequestError } from '../errors.js';
import { intParam } from '../http/query.js';
import { RunTail } from '../live/run-tail.js';
import { sseMessage, sseResponse } from '../live/sse.js';
import type { UiContext } from '../ui-context.js';
import { parseEventQuery, readEvents } from '../views/event-filter.js';
import { requireRunRecord } from './runs.js';

/** Where a live tail starts: after Last-Event-ID when the browser reconnects (it wins), else after `afterSeq`. */
export function resumeSeq(c: Context, url: URL): number {
  const last = c.req.header('Last-Event-ID');
  if (last !== undefined && last !== '') {
    const seq = Number(last);
    if (!Number.isSafeInteger(seq) || seq < 0) {
      throw new UiRequestError('BAD_REQUEST', `header Last-Event-ID must be an event seq (an integer), got '${last}'`);
    }
    return seq;
  }
  return intParam(url, 'afterSeq', 0, 0, Number.MAX_SAFE_INTEGER);
}

export function wantsEventStream(c: Context): boolean {
  return (c.req.header('Accept') ?? '').includes('text/event-stream');
}

export function eventRoutes(app: Hono, ctx: UiContext): void {
  app.get('/api/runs/:id/events', async (c) => {
    const run = await requireRunRecord(ctx, c.req.param('id'));
    const url = new URL(c.req.url);
    const query = parseEventQuery(url);
    if (!wantsEventStream(c)) {
      const limit = intParam(url, 'limit', 1000, 1, 5000);
      const page = await readEvents(ctx.instance.storage, run.runId, resumeSeq(c, url), limit, query);
      const body: EventsResponse = { events: page.events, lastSeq: page.lastSeq, hasMore: page.hasMore };
      return c.json(body);
    }
    const tail = new RunTail(ctx.instance.storage, run.runId, resumeSeq(c, url), query);
    return sseResponse(c, ctx.heartbeatMs, async (channel) => {
      while (!channel.closed) {
        const { events } = await tail.next();
        const messages = events.map((e) => sseMessage('event', e, e.seq));
        const status = await tail.statusChange(ctx.now());
        if (status) messages.push(sseMessage('run', { run: status }));
        await channel.send(messages);
        await channel.pause(ctx.tailIntervalMs);
      }
    });
  });
}
