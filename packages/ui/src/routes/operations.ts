import { NotFoundError, type ScheduleDefinition } from '@stepwise/core';
import { daemonStatuses, listSchedules, previewSchedule, scheduleStore, setScheduleStatus } from '@stepwise/daemon';
import type { Hono } from 'hono';
import type {
  DaemonsResponse,
  ScheduleStatusResponse,
  ScheduleSummary,
  SchedulesResponse,
  TicksResponse,
  WorkersResponse,
} from '../api-types.js';
import { intParam } from '../http/query.js';
import type { UiContext } from '../ui-context.js';

async function scheduleOf(ctx: UiContext, name: string): Promise<ScheduleDefinition> {
  const defs = await ctx.definitions();
  const found = defs.schedules.get(name);
  if (found) return found;
  const known = [...defs.schedules.keys()];
  throw new NotFoundError(
    `schedule '${name}' not found in '${defs.source}'${known.length ? ` (it has ${known.join(', ')})` : ' (it exports none)'}`,
  );
}

async function summaries(ctx: UiContext, defs: Iterable<ScheduleDefinition>): Promise<ScheduleSummary[]> {
  const list = [...defs];
  const now = ctx.now();
  const entries = await listSchedules(scheduleStore(ctx.instance.storage), list, now);
  return entries.map((e, i) => ({
    ...e,
    lastTick: e.lastTick as ScheduleSummary['lastTick'],
    nextTicks: previewSchedule(list[i] as ScheduleDefinition, now, 5),
  }));
}

/** Schedules (the daemon's storage and the file's definitions) and daemons. */
export function operationRoutes(app: Hono, ctx: UiContext): void {
  app.get('/api/schedules', async (c) => {
    const defs = await ctx.definitions();
    return c.json({ schedules: await summaries(ctx, defs.schedules.values()) } satisfies SchedulesResponse);
  });

  app.get('/api/schedules/:name/ticks', async (c) => {
    const def = await scheduleOf(ctx, c.req.param('name'));
    const limit = intParam(new URL(c.req.url), 'limit', 50, 1, 1000);
    const ticks = await scheduleStore(ctx.instance.storage).listTicks(def.name, limit);
    const body: TicksResponse = {
      schedule: def.name,
      ticks: ticks.map((t) => ({
        scheduledAt: t.scheduledAt,
        status: t.status,
        runIds: t.runIds,
        reason: t.reason ?? t.error ?? null,
        attempt: t.attempt,
        createdAt: t.createdAt,
        updatedAt: t.updatedAt,
      })),
    };
    return c.json(body);
  });

  for (const [action, status] of [
    ['start', 'running'],
    ['stop', 'stopped'],
  ] as const) {
    app.post(`/api/schedules/:name/${action}`, async (c) => {
      const def = await scheduleOf(ctx, c.req.param('name'));
      await setScheduleStatus(scheduleStore(ctx.instance.storage), def, status, ctx.now());
      const [schedule] = await summaries(ctx, [def]);
      return c.json({ schedule } as ScheduleStatusResponse);
    });
  }

  app.get('/api/workers', async (c) => {
    const monitor = ctx.workers();
    if (!monitor) {
      const none: WorkersResponse = {
        redis: { configured: false, url: null, error: null },
        workers: [],
        lost: [],
        queues: [],
      };
      return c.json(none);
    }
    return c.json(await monitor.snapshot());
  });

  app.get('/api/daemons', async (c) => {
    const daemons = await daemonStatuses(ctx.instance, ctx.now());
    return c.json({ daemons } satisfies DaemonsResponse);
  });
}
