/**
 * The pipelines the queue benchmark runs, for both sides: the coordinator (bench/queue-bench.ts) imports them,
 * and `stepwise worker -f bench/queue-workloads.ts` loads this same file, so both hold the same names and graphs
 * (the worker refuses a step whose plan fingerprint differs from its own pipeline's).
 *
 * Sizes are fixed here rather than passed in: a worker cannot receive parameters, and the quick (smoke) sizes
 * are separate pipelines with their own names.
 */
import { op, type PipelineDefinition, pipeline } from '@stepwise/core';
import { z } from 'zod';
import { type Dag, dagPipeline, w1, w2, w3 } from './workloads.js';

/** Full-size workloads of issue 5. */
export const FULL = { W1: w1(), W2: w2(), W3: w3() } as const;

/** Small versions for `npm run bench -- --quick`. */
export const QUICK = { W1: w1(200), W2: w2(40), W3: w3(5, 20) } as const;

function renamed(dag: Dag, name: string): Dag {
  return { name, steps: dag.steps };
}

/** The DAG of each exported pipeline, by pipeline name (for the floor, which runs the same DAGs). */
export const dags: Record<string, Dag> = {
  W1: FULL.W1,
  W2: FULL.W2,
  W3: FULL.W3,
  W1_quick: renamed(QUICK.W1, 'W1_quick'),
  W2_quick: renamed(QUICK.W2, 'W2_quick'),
  W3_quick: renamed(QUICK.W3, 'W3_quick'),
};

export const W1 = dagPipeline(dags.W1 as Dag, 'W1');
export const W2 = dagPipeline(dags.W2 as Dag, 'W2');
export const W3 = dagPipeline(dags.W3 as Dag, 'W3');
export const W1_quick = dagPipeline(dags.W1_quick as Dag, 'W1_quick');
export const W2_quick = dagPipeline(dags.W2_quick as Dag, 'W2_quick');
export const W3_quick = dagPipeline(dags.W3_quick as Dag, 'W3_quick');

/** Environment variable naming the size of the `wide` pipeline (unset: none is built, it is costly to build). */
export const WIDE_STEPS_ENV = 'STEPWISE_BENCH_WIDE_STEPS';

/** Name of the wide pipeline of `steps` steps. */
export function wideName(steps: number): string {
  return `wide_${steps}`;
}

/** The DAG of the wide pipeline: `steps - 1` independent no-op sources and one join (W1's shape). */
export function wideDag(steps: number): Dag {
  return { name: wideName(steps), steps: w1(steps - 1).steps };
}

const wideSteps = Number(process.env[WIDE_STEPS_ENV] ?? 0);
/**
 * The pipeline of the coordinator-RSS run, sized by $STEPWISE_BENCH_WIDE_STEPS: the coordinator's process and
 * the workers set the same value, so they build the same graph. Undefined (and ignored by the loader) when unset.
 */
export const wide: PipelineDefinition | undefined =
  wideSteps > 1 ? dagPipeline(wideDag(wideSteps), wideName(wideSteps)) : undefined;

export { fanRepository } from './fanout-workloads.js';

const itemsOf = (n: number) =>
  op({
    name: 'fan_out_items',
    out: { schema: z.number(), dynamic: true },
    compute: () => Array.from({ length: n }, (_, i) => i),
  });
const item = op({ name: 'fan_out_item', ins: { x: z.number() }, out: z.number(), compute: (_c, { x }) => x });
const total = op({
  name: 'fan_out_total',
  ins: { xs: z.array(z.number()) },
  out: z.number(),
  compute: (_c, { xs }) => xs.reduce((a, b) => a + b, 0),
});

/** Items of the fan-out workload (issue 21): one dynamic step's items, each mapped by a no-op, then summed. */
export const FAN_OUT_ITEMS = 20_000;
export const FAN_OUT_QUICK_ITEMS = 2_000;

function fanOutPipeline(name: string, n: number): PipelineDefinition {
  return pipeline({
    name,
    build: () => {
      const xs = itemsOf(n)()
        .map((x) => item({ x }))
        .collect();
      total({ xs });
    },
  });
}

/** The dynamic fan-out of 20,000 items (20,002 steps; the quick run's: 2,000). */
export const fan_out = fanOutPipeline('fan_out', FAN_OUT_ITEMS);
export const fan_out_quick = fanOutPipeline('fan_out_quick', FAN_OUT_QUICK_ITEMS);
