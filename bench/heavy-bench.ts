/**
 * Heavy steps (issue 20): one `stepwise worker --concurrency 2` per isolation mode (none, thread, process), each
 * running CPU-bound steps (about 50 ms of SHA-256 hashing each, calibrated on this machine) and the queue
 * benchmark's no-op workloads W1 and W3, so that what isolation buys (CPU steps on every core) and what it costs
 * (a message hop per step) are both published figures.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { executePipeline, type PipelineDefinition } from '@stepwise/core';
import {
  CPU_STEPS,
  CPU_STEPS_QUICK,
  cpuBound,
  cpuBoundQuick,
  cpuRunOps,
  hashRounds,
  W1,
  W1_quick,
  W3,
  W3_quick,
} from './heavy-workloads.js';
import { measure, median, round, type Throughput } from './stats.js';
import { WorkerSet } from './worker-set.js';

const HEAVY_FILE = fileURLToPath(new URL('./heavy-workloads.ts', import.meta.url));
export const MODES = ['none', 'thread', 'process'] as const;
export type Mode = (typeof MODES)[number];
/** The CPU work of one step. */
const TARGET_STEP_MS = 50;
const CONCURRENCY = 2;

export interface HeavyModeFigures {
  mode: Mode;
  cpu: Throughput;
  /** CPU-bound steps/s of this mode over `none`'s. */
  cpuSpeedup?: number;
  /** Wall ms per CPU step beyond the ideal (the step's hashing time spread over min(concurrency, cores) cores). */
  cpuOverheadMsPerStep: number;
  noop: Record<'W1' | 'W3', Throughput>;
  /** ms per no-op step more than `none` (the isolation's hop), per workload. */
  noopAddedMsPerStep?: Record<'W1' | 'W3', number>;
}

export interface HeavyFigures {
  /** Hash rounds per step, and what one step's hashing took on this process when calibrated (median of 5). */
  roundsPerStep: number;
  stepMs: number;
  modes: HeavyModeFigures[];
  loadAverage: number[];
}

/** Rounds of hashRounds that take about `ms` here (median of 5 timings). */
function calibrate(ms: number): { rounds: number; stepMs: number } {
  const probe = 2_000;
  // Warmed up as a worker's JIT is after its first steps: a cold timing overstates the work per round.
  for (let i = 0; i < 20; i++) hashRounds(probe);
  const perRound = median(
    Array.from({ length: 5 }, () => {
      const t0 = performance.now();
      hashRounds(probe);
      return (performance.now() - t0) / probe;
    }),
  );
  const rounds = Math.max(1, Math.round(ms / perRound));
  const stepMs = median(
    Array.from({ length: 5 }, () => {
      const t0 = performance.now();
      hashRounds(rounds);
      return performance.now() - t0;
    }),
  );
  return { rounds, stepMs };
}

async function runOnce(
  pipeline: PipelineDefinition,
  redisUrl: string,
  prefix: string,
  ops: Record<string, unknown> = {},
): Promise<number> {
  const t0 = performance.now();
  const result = await executePipeline(pipeline, {
    runConfig: { execution: { queue: { redisUrl, prefix } }, ops },
    loadOutputs: false,
  });
  if (result.status !== 'SUCCESS') throw new Error(`heavy bench: ${pipeline.name} ended ${result.status}`);
  return performance.now() - t0;
}

export async function benchHeavy(options: {
  redisUrl: string;
  prefix: string;
  repetitions: number;
  warmup: boolean;
  quick: boolean;
  cores: number;
  onProgress: (line: string) => void;
}): Promise<HeavyFigures> {
  const { redisUrl, quick } = options;
  const { rounds, stepMs } = calibrate(TARGET_STEP_MS);
  options.onProgress(`   calibrated: ${rounds} hash rounds per step, ${stepMs.toFixed(1)} ms here`);
  const cpuPipeline = quick ? cpuBoundQuick : cpuBound;
  const cpuSteps = quick ? CPU_STEPS_QUICK : CPU_STEPS;
  const noops = quick ? { W1: W1_quick, W3: W3_quick } : { W1, W3 };
  const ideal = stepMs / Math.min(CONCURRENCY, options.cores);
  const modes: HeavyModeFigures[] = [];
  for (const mode of MODES) {
    const prefix = `${options.prefix}heavy${mode}`;
    const workers = await WorkerSet.start({
      redisUrl,
      prefix,
      count: 1,
      concurrency: CONCURRENCY,
      file: HEAVY_FILE,
      extraArgs: ['--isolation', mode],
    });
    try {
      // The first run also waits for the pool to load its code: always warm up.
      const cpu = await measure(`cpu ${mode}`, cpuSteps, options.repetitions, () =>
        runOnce(cpuPipeline, redisUrl, prefix, cpuRunOps(cpuSteps, rounds)),
      );
      const noop = {} as Record<'W1' | 'W3', Throughput>;
      for (const [label, pipeline] of Object.entries(noops) as Array<['W1' | 'W3', PipelineDefinition]>) {
        const steps = pipeline.nodes.size;
        noop[label] = await measure(`${label} ${mode}`, steps, options.repetitions, () =>
          runOnce(pipeline, redisUrl, prefix),
        );
      }
      workers.check();
      modes.push({ mode, cpu, cpuOverheadMsPerStep: round(cpu.msPerStep - ideal, 3), noop });
      options.onProgress(
        `   ${mode}: cpu ${cpu.stepsPerSec.toFixed(1)} steps/s; W1 ${Math.round(noop.W1.stepsPerSec)} steps/s; W3 ${Math.round(noop.W3.stepsPerSec)} steps/s`,
      );
    } finally {
      await workers.stop();
    }
  }
  const none = modes.find((m) => m.mode === 'none');
  for (const m of modes) {
    if (!none) break;
    m.cpuSpeedup = round(m.cpu.stepsPerSec / none.cpu.stepsPerSec, 2);
    m.noopAddedMsPerStep = {
      W1: round(m.noop.W1.msPerStep - none.noop.W1.msPerStep, 4),
      W3: round(m.noop.W3.msPerStep - none.noop.W3.msPerStep, 4),
    };
  }
  return { roundsPerStep: rounds, stepMs: round(stepMs, 2), modes, loadAverage: loadavg().map((v) => round(v, 2)) };
}
