/**
 * The soak pipeline: the file `stepwise worker -f` loads and the soak's coordinator imports. Its graph comes
 * from $STEPWISE_SOAK_STEPS and $STEPWISE_SOAK_SEED (set by the soak for every process it starts), so every
 * process builds the same graph and the same plan fingerprint. Without them: a 200-step graph, seed 1.
 *
 * Each step sleeps a seeded 0–50 ms (or, one source or mix step in ten, blocks its loop; one in ten ignores its
 * abort: see heavy-steps.ts), then returns `{ h, attempt, worker }`: `h` is a digest of its key and its
 * inputs' `h` (so the checker recomputes it from the graph alone); `attempt` and `worker` say which attempt
 * wrote the stored value, so the checker can tell whether a stale attempt overwrote it.
 */
import { setMaxListeners } from 'node:events';
import {
  type DynamicHandle,
  type OutputHandle,
  op,
  type PipelineDefinition,
  pipeline,
  repository,
} from '@stepwise/core';
import { z } from 'zod';
import {
  buildSoakGraph,
  itemValue,
  joinValue,
  mappedValue,
  type SoakGraph,
  stepDurationMs,
  stepValue,
} from './graph.js';
import { heavyKind, heavyWork } from './heavy-steps.js';

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
      await heavyWork(heavyKind(seed, ctx.stepKey), stepDurationMs(seed, ctx.stepKey), ctx.signal, sleep);
      return { h: stepValue(ctx.stepKey, []), attempt: ctx.attempt, worker: ctx.workerId ?? 'local' };
    },
  });
  const mix = op({
    name: 'soak_mix',
    ins: { xs: z.array(stepOutput) },
    out: stepOutput,
    async compute(ctx, { xs }) {
      await heavyWork(heavyKind(seed, ctx.stepKey), stepDurationMs(seed, ctx.stepKey), ctx.signal, sleep);
      const h = stepValue(
        ctx.stepKey,
        xs.map((x) => x.h),
      );
      return { h, attempt: ctx.attempt, worker: ctx.workerId ?? 'local' };
    },
  });
  const stamp = (ctx: { attempt: number; workerId?: string }) => ({
    attempt: ctx.attempt,
    worker: ctx.workerId ?? 'local',
  });
  // A fan-out: its `items` items (`items` comes from the graph, by step key).
  const fanOut = (items: ReadonlyMap<string, number>) =>
    op({
      name: 'soak_fan_out',
      ins: { xs: z.array(stepOutput) },
      out: { schema: stepOutput, dynamic: true },
      async compute(ctx, { xs }) {
        await sleep(stepDurationMs(seed, ctx.stepKey), ctx.signal);
        const inputs = xs.map((x) => x.h);
        const n = items.get(ctx.stepKey) ?? 0;
        return Array.from({ length: n }, (_, i) => ({ h: itemValue(ctx.stepKey, i, inputs), ...stamp(ctx) }));
      },
    });
  // The copies run in a few ms each: a fan-out of thousands must not take the soak's whole time.
  const item = op({
    name: 'soak_item',
    ins: { x: stepOutput },
    out: stepOutput,
    async compute(ctx, { x }) {
      await sleep(stepDurationMs(seed, x.h) % 5, ctx.signal);
      return { h: mappedValue(x.h), ...stamp(ctx) };
    },
  });
  const join = op({
    name: 'soak_join',
    ins: { xs: z.array(stepOutput) },
    out: stepOutput,
    async compute(ctx, { xs }) {
      await heavyWork(heavyKind(seed, ctx.stepKey), stepDurationMs(seed, ctx.stepKey), ctx.signal, sleep);
      return {
        h: joinValue(
          ctx.stepKey,
          xs.map((x) => x.h),
        ),
        ...stamp(ctx),
      };
    },
  });
  return { source, mix, fanOut, item, join };
}

/**
 * The pipeline of a soak graph: sources for steps without deps, a fan-in op (its deps, in order) for the rest, and
 * for each fan-out a dynamic step whose items are each mapped by a step and collected by the join after it.
 */
export function soakPipeline(graph: SoakGraph): PipelineDefinition {
  const ops = soakOps(graph.seed);
  const items = new Map(graph.steps.flatMap((s) => (s.kind === 'fanout' ? [[s.key, s.items ?? 0] as const] : [])));
  const fanOut = ops.fanOut(items);
  return pipeline({
    name: graph.name,
    build: () => {
      const results = new Map<string, OutputHandle<SoakValue>>();
      const fans = new Map<string, DynamicHandle<SoakValue>>();
      for (const step of graph.steps) {
        const xs = step.deps.map((d) => results.get(d) as OutputHandle<SoakValue>);
        if (step.kind === 'fanout') fans.set(step.key, fanOut.as(step.key)({ xs }));
        else if (step.kind === 'join') {
          const fan = fans.get(step.deps[0] as string) as DynamicHandle<SoakValue>;
          const mapped = fan.map((x) => ops.item.as(`${step.deps[0]}_item`)({ x }));
          results.set(step.key, ops.join.as(step.key)({ xs: mapped.collect() }));
        } else results.set(step.key, xs.length === 0 ? ops.source.as(step.key)() : ops.mix.as(step.key)({ xs }));
      }
    },
  });
}

/** The graph this process was started for. */
export function graphFromEnv(): SoakGraph {
  const steps = Number(process.env[STEPS_ENV] ?? 200);
  const seed = Number(process.env[SEED_ENV] ?? 1);
  return buildSoakGraph(steps, seed);
}

export const soak = soakPipeline(graphFromEnv());

export default repository({ pipelines: [soak] });
