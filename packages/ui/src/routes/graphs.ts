import { resolvePipeline } from '@stepwise/core';
import type { Hono } from 'hono';
import { listParam } from '../http/query.js';
import type { UiContext } from '../ui-context.js';
import { type GraphCache, type GraphStep, graphShape } from '../views/graph-layout.js';
import { whyWaiting } from '../views/why-waiting.js';
import { pipelineSteps } from './pipelines.js';
import { requireRunRecord } from './runs.js';

/** Plan graphs laid out on the server (elk), and why a run's steps wait. */
export function graphRoutes(app: Hono, ctx: UiContext, graphs: GraphCache): void {
  app.get('/api/pipelines/:name/graph', async (c) => {
    const pipeline = resolvePipeline(await ctx.definitions(), c.req.param('name'));
    const steps: GraphStep[] = pipelineSteps(pipeline).map((s) => ({
      key: s.key,
      upstream: s.upstream,
      ...(s.mappedBy === undefined ? {} : { mappedBy: s.mappedBy }),
    }));
    return c.json(await graphs.layout(`pipeline:${pipeline.fingerprint}`, graphShape(steps, [], new Set())));
  });

  app.get('/api/runs/:id/graph', async (c) => {
    const run = await requireRunRecord(ctx, c.req.param('id'));
    const expand = new Set(listParam(new URL(c.req.url), 'expand'));
    const { rows } = await ctx.runViews.of(run, await ctx.medians.of(run.pipeline));
    const steps: GraphStep[] = run.plan.steps.map((s) => ({
      key: s.key,
      upstream: s.upstream,
      ...(s.scope ? { mappedBy: s.scope.step } : {}),
    }));
    const key = `plan:${run.plan.fingerprint}:${(run.plan.selection ?? []).join(',')}:${[...expand].sort().join(',')}`;
    return c.json(await graphs.layout(key, graphShape(steps, rows, expand)));
  });

  app.get('/api/runs/:id/waiting', async (c) => {
    const run = await requireRunRecord(ctx, c.req.param('id'));
    const { rows } = await ctx.runViews.of(run, await ctx.medians.of(run.pipeline));
    // Only the retry events are needed (when a step waits to retry, and until when).
    const events = await ctx.instance.storage.getEvents(run.runId, { types: ['STEP_UP_FOR_RETRY'] });
    return c.json(await whyWaiting(ctx.instance, run, rows, events, ctx.workers()));
  });
}
