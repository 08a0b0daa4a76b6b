import { buildPlan, type PipelineDefinition, resolvePipeline, validateRunConfig } from '@stepwise/core';
import type { Hono } from 'hono';
import type { PipelineStep, PipelinesResponse } from '../api-types.js';
import type { UiContext } from '../ui-context.js';
import { readConfigInput } from '../views/config-input.js';

/** A pipeline's steps from its definition (no run config needed): what the pipelines page lists. */
export function pipelineSteps(pipeline: PipelineDefinition): PipelineStep[] {
  return pipeline.order.map((key) => {
    const node = pipeline.nodes.get(key);
    const upstream = new Set<string>();
    for (const binding of Object.values(node?.inputs ?? {})) {
      const sources = binding.kind === 'fanIn' ? binding.sources : [binding];
      for (const s of sources) upstream.add(s.node);
    }
    const step: PipelineStep = {
      key,
      op: node?.op.name ?? key,
      queue: node?.tags.queue ?? 'default',
      upstream: [...upstream],
      fansOut: node?.op.outputs.some((o) => o.dynamic) ?? false,
      tags: { ...(node?.tags ?? {}) },
    };
    if (node?.scope) step.mappedBy = node.scope.node;
    return step;
  });
}

export function pipelineRoutes(app: Hono, ctx: UiContext): void {
  app.get('/api/pipelines', async (c) => {
    const defs = await ctx.definitions();
    const schedules = [...defs.schedules.values()];
    const body: PipelinesResponse = {
      pipelines: [...defs.pipelines.values()].map((p) => ({
        name: p.name,
        ...(p.description === undefined ? {} : { description: p.description }),
        steps: pipelineSteps(p),
        schedules: schedules.filter((s) => s.pipeline.name === p.name).map((s) => s.name),
      })),
    };
    return c.json(body);
  });

  app.get('/api/pipelines/:name/plan', async (c) => {
    const pipeline = resolvePipeline(await ctx.definitions(), c.req.param('name'));
    const input = readConfigInput(c.req.query('runConfig') ?? {});
    return c.json(buildPlan(pipeline, validateRunConfig(pipeline, input.value ?? {})));
  });
}
