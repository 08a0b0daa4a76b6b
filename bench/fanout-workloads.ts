/**
 * Fan-outs of issue 22: a mapped (dynamic) fan-out against a static one of the same shape, on the queue executor.
 * Static `fan_static_N`: one source, N no-op steps reading it, one join of all N. Mapped `fan_mapped`: one step
 * with a dynamic output of N items (N from its config), a no-op mapped over each item, one collect. Both have
 * N + 2 steps. The static graphs are costly to build, so only the sizes in $STEPWISE_BENCH_FAN_STEPS are.
 */
import { op, type PipelineDefinition, pipeline, repository } from '@stepwise/core';
import { z } from 'zod';
import { type Dag, dagPipeline } from './workloads.js';

export const FAN_STEPS_ENV = 'STEPWISE_BENCH_FAN_STEPS';

export function staticFanName(items: number): string {
  return `fan_static_${items}`;
}

function staticFanDag(items: number): Dag {
  const steps: Dag['steps'] = [{ key: 'src', deps: [] }];
  for (let i = 0; i < items; i++) steps.push({ key: `f_${i}`, deps: ['src'] });
  steps.push({ key: 'join', deps: steps.slice(1).map((s) => s.key) });
  return { name: staticFanName(items), steps };
}

const items = op({
  name: 'items',
  config: z.object({ n: z.number().int().positive() }),
  out: { schema: z.number(), dynamic: true },
  compute: (ctx) => Array.from({ length: ctx.config.n }, (_, i) => i),
});
const one = op({ name: 'one', ins: { x: z.number() }, out: z.number(), compute: () => 1 });
const gatherAll = op({ name: 'gather_all', ins: { xs: z.array(z.number()) }, out: z.number(), compute: () => 1 });

export const mappedFan: PipelineDefinition = pipeline({
  name: 'fan_mapped',
  build: () =>
    void gatherAll({
      xs: items()
        .map((x) => one({ x }))
        .collect(),
    }),
});

/** The run config of a mapped fan-out of `n` items. */
export function mappedFanConfig(n: number): Record<string, unknown> {
  return { ops: { items: { config: { n } } } };
}

const sizes = (process.env[FAN_STEPS_ENV] ?? '')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);

/** The static fan-out of `items` (the workers build the same graph from $STEPWISE_BENCH_FAN_STEPS). */
export function staticFan(items: number): PipelineDefinition {
  return dagPipeline(staticFanDag(items), staticFanName(items));
}

/** The pipelines workers load: the mapped one, and the static ones of the sizes asked for. */
export const fanRepository = repository({
  pipelines: [mappedFan, ...sizes.map(staticFan)],
});
