/**
 * The soak pipeline: the file `stepwise worker -f` loads and the soak's coordinator imports. Its graph comes
 * from $STEPWISE_SOAK_STEPS and $STEPWISE_SOAK_SEED (set by the soak for every process it starts), so every
 * process builds the same graph and the same plan fingerprint. Without them: a 200-step graph, seed 1.
 *
 * Each step sleeps a seeded 0–50 ms, then returns `{ h, attempt, worker }`: `h` is a digest of its key and its
 * inputs' `h` (so the checker recomputes it from the graph alone); `attempt` and `worker` say which attempt
 * wrote the stored value, so the checker can tell whether a stale attempt overwrote it.
 */
import { setMaxListeners } from 'node:events';
import { op, type PipelineDefinition, pipeline, repository } from '@stepwise/core';
import { z } from 'zod';
import { buildSoakGraph, type SoakGraph, stepDurationMs, stepValue } from './graph.js';

export const STEPS_ENV = 'STEPWISE_SOAK_STEPS';
export const SEED_ENV = 'STEPWISE_SOAK_SEED';

const stepOutput = z.object({ h: z.string(), attempt: z.number().int(), worker: z.string() });
export type SoakValue = z.infer<typeof stepOutput>;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    // In-process runs share one signal across all running steps; each adds a listener for its sleep only.
    setMaxListeners(0, signal);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The ops of one graph: the seed decides each step's sleep. */
function soakOps(seed: number) {
  const source = op({
    name: 'soak_source',
    out: stepOutput,
    async compute(ctx) {
      await sleep(stepDurationMs(seed, ctx.stepKey), ctx.signal);
      return { h: stepValue(ctx.stepKey, []), attempt: ctx.attempt, worker: ctx.workerId ?? 'local' };
    },
  });
  const mix = op({
    name: 'soak_mix',
    ins: { xs: z.array(stepOutput) },
    out: stepOutput,
    async compute(ctx, { xs }) {
      await sleep(stepDurationMs(seed, ctx.stepKey), ctx.signal);
      const h = stepValue(
        ctx.stepKey,
        xs.map((x) => x.h),
      );
      return { h, attempt: ctx.attempt, worker: ctx.workerId ?? 'local' };
    },
  });
  return { source, mix };
}

/** The pipeline of a soak graph: sources for steps without deps, a fan-in op (its deps, in order) for the rest. */
export function soakPipeline(graph: SoakGraph): PipelineDefinition {
  const { source, mix } = soakOps(graph.seed);
  const nodes: Record<string, typeof source | typeof mix> = {};
  const deps: Record<string, Record<string, string[]>> = {};
  for (const step of graph.steps) {
    if (step.deps.length === 0) nodes[step.key] = source;
    else {
      nodes[step.key] = mix;
      deps[step.key] = { xs: step.deps };
    }
  }
  return pipeline({ name: graph.name, nodes, deps });
}

/** The graph this process was started for. */
export function graphFromEnv(): SoakGraph {
  const steps = Number(process.env[STEPS_ENV] ?? 200);
  const seed = Number(process.env[SEED_ENV] ?? 1);
  return buildSoakGraph(steps, seed);
}

export const soak = soakPipeline(graphFromEnv());

export default repository({ pipelines: [soak] });
