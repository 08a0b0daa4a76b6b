import { type RunFilter, runJson, type StoredEvent } from '@stepwise/core';
import type { Hono } from 'hono';
import type { RunEventsFrame, RunSummary, StepsFrame, StreamHelloFrame } from '../api-types.js';
import { UiRequestError } from '../errors.js';
import { type SseChannel, sseMessage, sseResponse } from '../live/sse.js';
import { StepsTracker } from '../live/steps-tracker.js';
import type { UiContext } from '../ui-context.js';
import { type EventQuery, matches, parseEventQuery } from '../views/event-filter.js';
import { resumeSeq, wantsEventStream } from './events.js';
import { parseRunFilter, requireRunRecord } from './runs.js';

const FRAME_EVENTS = 2_000;
const RUNS_EVERY_MS = 1_000;
const WORKERS_EVERY_MS = 2_000;

/** The run topic: one unfiltered read per tick feeds the step rows and, filtered, the event frames. */
class RunTopic {
  private constructor(
    private readonly ctx: UiContext,
    readonly runId: string,
    private cursor: number,
    private sentSeq: number,
    private readonly query: EventQuery,
    private readonly steps: StepsTracker,
    private backlog: StoredEvent[],
  ) {}

  static async open(ctx: UiContext, runId: string, afterSeq: number, query: EventQuery): Promise<RunTopic> {
    const run = await requireRunRecord(ctx, runId);
    const history = await ctx.instance.storage.getEvents(runId);
    const steps = new StepsTracker(run, history, await ctx.medians.of(run.pipeline));
    const cursor = history.at(-1)?.seq ?? 0;
    const backlog = history.filter((e) => e.seq > afterSeq);
    return new RunTopic(ctx, runId, cursor, afterSeq, query, steps, backlog);
  }

  /** The messages of this tick: events (id = last seq looked at) and changed step rows. */
  async tick(): Promise<string[]> {
    const fresh = await this.ctx.instance.storage.getEvents(this.runId, { afterSeq: this.cursor });
    const out: string[] = [];
    if (fresh.length > 0) {
      this.cursor = fresh.at(-1)?.seq ?? this.cursor;
      const rows = this.steps.apply(fresh);
      if (rows.length > 0) out.push(sseMessage('steps', { runId: this.runId, steps: rows } satisfies StepsFrame));
      this.backlog.push(...fresh);
    }
    // A long history goes out over several ticks, a frame at a time, so a reconnect never waits for all of it.
    while (this.backlog.length > 0 && out.length < 4) {
      const batch = this.backlog.splice(0, FRAME_EVENTS);
      const lastSeq = batch.at(-1)?.seq ?? this.sentSeq;
      this.sentSeq = lastSeq;
      const frame: RunEventsFrame = { runId: this.runId, events: batch.filter((e) => matches(this.query, e)), lastSeq };
      out.push(sseMessage('run-events', frame, lastSeq));
    }
    return out;
  }
}

/** The runs-list topic: runs whose status or times changed since the last look. */
class RunsTopic {
  private since: number;
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly ctx: UiContext,
    private readonly filter: Pick<RunFilter, 'status' | 'pipeline' | 'tags'>,
  ) {
    this.since = ctx.now();
  }

  async tick(): Promise<RunSummary[]> {
    const runs = await this.ctx.instance.storage.listRuns({ ...this.filter, updatedSince: this.since, limit: 500 });
    const now = this.ctx.now();
    const changed: RunSummary[] = [];
    for (const run of runs) {
      this.since = Math.max(this.since, run.updatedAt);
      // Heartbeats move updatedAt every few seconds: only a new status or time is news.
      const mark = `${run.status}|${run.startedAt ?? ''}|${run.endedAt ?? ''}`;
      if (this.seen.get(run.runId) === mark) continue;
      this.seen.set(run.runId, mark);
      changed.push(runJson(run, now));
    }
    return changed;
  }
}

async function streamLoop(
  ctx: UiContext,
  channel: SseChannel,
  topics: {
    run?: RunTopic;
    runs?: RunsTopic;
    workers: boolean;
  },
): Promise<void> {
  let lastStatus: string | undefined;
  let runsAt = 0;
  let workersAt = 0;
  let lastWorkers = '';
  // A submission or a run's end elsewhere: look at the runs (and the run's status) now rather than at the next poll.
  const unsubscribe =
    topics.runs || topics.run
      ? ctx.runChanges().subscribe(() => {
          runsAt = 0;
          channel.wake();
        })
      : () => {};
  try {
    await ticks();
  } finally {
    unsubscribe();
  }
  async function ticks(): Promise<void> {
    while (!channel.closed) {
      const out: string[] = [];
      if (topics.run) {
        out.push(...(await topics.run.tick()));
        // The status alone each tick (a 10,000-step run's record holds its whole plan); the record on a change.
        const head = await ctx.instance.storage.getRunStatus(topics.run.runId);
        const run =
          head && head.status !== lastStatus ? await ctx.instance.storage.getRun(topics.run.runId) : undefined;
        if (run) {
          lastStatus = run.status;
          out.push(sseMessage('run', { run: runJson(run, ctx.now()) }));
        }
      }
      const now = Date.now();
      if (topics.runs && now - runsAt >= RUNS_EVERY_MS) {
        runsAt = now;
        const runs = await topics.runs.tick();
        if (runs.length > 0) out.push(sseMessage('runs', { runs }));
      }
      const monitor = topics.workers ? ctx.workers() : undefined;
      if (monitor && now - workersAt >= WORKERS_EVERY_MS) {
        workersAt = now;
        const snapshot = await monitor.snapshot();
        const text = JSON.stringify({ ...snapshot, workers: snapshot.workers.map((w) => ({ ...w, heartbeatAt: 0 })) });
        if (text !== lastWorkers) {
          lastWorkers = text;
          out.push(sseMessage('workers', snapshot));
        }
      }
      await channel.send(out);
      await channel.pause(ctx.tailIntervalMs);
    }
  }
}

/** GET /api/stream: the one SSE stream of a browser tab (docs/ui.md). */
export function streamRoutes(app: Hono, ctx: UiContext): void {
  app.get('/api/stream', async (c) => {
    if (!wantsEventStream(c)) {
      throw new UiRequestError('BAD_REQUEST', 'GET /api/stream is a live stream: send Accept: text/event-stream');
    }
    const url = new URL(c.req.url);
    const runId = url.searchParams.get('run');
    const afterSeq = resumeSeq(c, url);
    const run = runId ? await RunTopic.open(ctx, runId, afterSeq, parseEventQuery(url)) : undefined;
    const runs = url.searchParams.get('runs') === '1' ? new RunsTopic(ctx, parseRunFilter(url)) : undefined;
    const workers = url.searchParams.get('workers') === '1';
    const hello: StreamHelloFrame = {
      afterSeq: run ? afterSeq : null,
      topics: [
        ...(run ? ['run' as const] : []),
        ...(runs ? ['runs' as const] : []),
        ...(workers ? ['workers' as const] : []),
      ],
    };
    return sseResponse(c, ctx.heartbeatMs, async (channel) => {
      await channel.send([sseMessage('hello', hello)]);
      await streamLoop(ctx, channel, { ...(run ? { run } : {}), ...(runs ? { runs } : {}), workers });
    });
  });
}
