/**
 * The in-process executor on the benchmark workloads: `executePipeline` with no instance (an ephemeral in-memory
 * one, the default) and no run config (the in-process executor, the default), timed end to end.
 */
import { executePipeline, type PipelineDefinition } from '@stepwise/core';
import { measure, type Throughput } from './stats.js';

/** Runs `pipeline` once in-process and returns the wall time of the `executePipeline` call, in ms. */
export async function runInProcessOnce(pipeline: PipelineDefinition): Promise<number> {
  const t0 = performance.now();
  // Outputs stay where they are: loading them into the result is retrieval, not execution.
  const result = await executePipeline(pipeline, { loadOutputs: false });
  const ms = performance.now() - t0;
  if (result.status !== 'SUCCESS') throw new Error(`in-process ${pipeline.name}: run ended ${result.status}`);
  return ms;
}

/** Warm-up, then `repetitions` timed runs; medians. */
export function measureInProcess(
  pipeline: PipelineDefinition,
  repetitions: number,
  label = pipeline.name,
  warmup = true,
): Promise<Throughput> {
  return measure(label, pipeline.nodes.size, repetitions, () => runInProcessOnce(pipeline), { warmup });
}
