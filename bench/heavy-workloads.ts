/**
 * The pipelines of the heavy-steps benchmark (bench/heavy-bench.ts): CPU-bound steps of fixed hashing work, and
 * the queue benchmark's no-op workloads (re-exported, so that one `stepwise worker -f bench/heavy-workloads.ts`
 * serves both, in each isolation mode).
 */
import { createHash } from 'node:crypto';
import { op, type PipelineDefinition, pipeline } from '@stepwise/core';
import { z } from 'zod';

export { W1, W1_quick, W3, W3_quick } from './queue-workloads.js';

/** Chains `rounds` SHA-256 hashes of a 1 KB block: fixed CPU work, no await. */
export function hashRounds(rounds: number): string {
  let block = Buffer.alloc(1_024, 7);
  for (let i = 0; i < rounds; i++) {
    const digest = createHash('sha256').update(block).digest();
    digest.copy(block, i % (1_024 - 32));
    block = i % 2 === 0 ? block : Buffer.from(block);
  }
  return createHash('sha256').update(block).digest('hex').slice(0, 8);
}

const hash = op({
  name: 'hash',
  config: z.object({ rounds: z.number().int().positive() }),
  out: z.string(),
  compute: (ctx) => hashRounds(ctx.config.rounds),
});

/** Steps of the CPU-bound workload, all independent (so every slot is busy), and of its quick version. */
export const CPU_STEPS = 80;
export const CPU_STEPS_QUICK = 8;

function cpuPipeline(name: string, steps: number): PipelineDefinition {
  return pipeline({
    name,
    build: () => {
      for (let i = 0; i < steps; i++) hash.as(`h_${i}`)();
    },
  });
}

export const cpuBound = cpuPipeline('cpu_bound', CPU_STEPS);
export const cpuBoundQuick = cpuPipeline('cpu_bound_quick', CPU_STEPS_QUICK);

/** The run config giving every step of a CPU pipeline `rounds` rounds. */
export function cpuRunOps(steps: number, rounds: number): Record<string, { config: { rounds: number } }> {
  return Object.fromEntries(Array.from({ length: steps }, (_, i) => [`h_${i}`, { config: { rounds } }]));
}
