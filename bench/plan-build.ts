/**
 * How long plans of 1k / 10k / 100k steps take to build, for a linear chain and a wide fan-out.
 * Reports pipeline() (graph validation, topological sort, fingerprint) and buildPlan() (run config
 * validation + plan) separately. Run: `node --expose-gc --import tsx/esm --conditions=source bench/plan-build.ts` (or plain `npx tsx --conditions=source`).
 */
import { pathToFileURL } from 'node:url';
import { buildPlan, type OpDefinition, op, type PipelineDefinition, pipeline } from '@stepwise/core';
import { z } from 'zod';

export type PlanShape = 'linear' | 'wide';

export interface PlanBuildTiming {
  steps: number;
  shape: PlanShape;
  /** Time of pipeline({ nodes, deps }). */
  pipelineMs: number;
  /** Time of buildPlan(pipeline, {}). */
  planMs: number;
}

const source = op({ name: 'source', out: z.number(), compute: () => 0 });
// A config schema with a default, so planning exercises config validation and defaults too.
const inc = op({
  name: 'inc',
  config: z.object({ by: z.number().default(1) }),
  ins: { x: z.number() },
  out: z.number(),
  compute: (ctx, { x }) => x + ctx.config.by,
});

/** A pipeline of `n` steps: `s0 -> s1 -> ... ` (linear) or `s0 -> each of s1..s(n-1)` (wide). */
export function makePipeline(n: number, shape: PlanShape): PipelineDefinition {
  const nodes: Record<string, OpDefinition> = { s0: source.definition };
  const deps: Record<string, Record<string, string>> = {};
  for (let i = 1; i < n; i++) {
    nodes[`s${i}`] = inc.definition;
    deps[`s${i}`] = { x: shape === 'linear' ? `s${i - 1}` : 's0' };
  }
  return pipeline({ name: `${shape}_${n}`, nodes, deps });
}

/** Builds the pipeline and its plan once, timing each. */
export function measurePlanBuild(n: number, shape: PlanShape = 'linear'): PlanBuildTiming {
  const t0 = performance.now();
  const p = makePipeline(n, shape);
  // With --expose-gc, collect the pipeline's garbage first so that it is not billed to buildPlan.
  (globalThis as { gc?: () => void }).gc?.();
  const t1 = performance.now();
  const plan = buildPlan(p, {});
  const t2 = performance.now();
  if (plan.steps.length !== n) throw new Error(`plan has ${plan.steps.length} steps, expected ${n}`);
  return { steps: n, shape, pipelineMs: t1 - t0, planMs: t2 - t1 };
}

/** Milliseconds buildPlan takes for an `n`-step pipeline (the pipeline's own construction is not counted). */
export function benchPlanBuild(n: number, shape: PlanShape = 'linear'): number {
  return measurePlanBuild(n, shape).planMs;
}

function main(): void {
  // Warm the JIT so the 1k figures are not mostly compilation.
  measurePlanBuild(1000, 'linear');
  measurePlanBuild(1000, 'wide');
  console.log('steps    shape   pipeline() ms  buildPlan() ms');
  for (const n of [1_000, 10_000, 100_000]) {
    for (const shape of ['linear', 'wide'] as const) {
      const t = measurePlanBuild(n, shape);
      console.log(
        `${String(n).padEnd(8)} ${shape.padEnd(7)} ${t.pipelineMs.toFixed(1).padStart(13)}  ${t.planMs.toFixed(1).padStart(14)}`,
      );
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
