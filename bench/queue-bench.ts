/**
 * The queue executor against the bare BullMQ floor (issue 5), on one Redis in one run.
 *
 * Stepwise side: 2 real `stepwise worker` processes (`node packages/core/bin/stepwise.js worker -f
 * bench/queue-workloads.ts --concurrency 8`), started once and reused, so their JIT is warm after the warm-up;
 * this process is the coordinator and calls `executePipeline` with `execution.queue`. Floor side: the bare
 * driver/worker loop of bullmq-floor.ts with 2 forked workers × concurrency 8. Per workload the floor and the
 * queue executor are measured back to back (warm-up + repetitions each), so a drift of the machine's load hits
 * both alike.
 *
 * Also measured here: the coordinator's peak RSS during a large wide queue run, in a fresh child process
 * (coordinator-rss.ts) so that nothing else this benchmark did is in its heap.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { executePipeline, type PipelineDefinition } from '@stepwise/core';
import { FloorWorkerPool, measureFloor } from './bullmq-floor.js';
import type { CoordinatorRssReply } from './coordinator-rss.js';
import { WIDE_STEPS_ENV } from './queue-workloads.js';
import { measure, median, type Throughput } from './stats.js';
import { WorkerSet } from './worker-set.js';
import type { Dag } from './workloads.js';

// Built by `npm run bench` (bench/tsconfig.json) and run on plain node: the figure is Stepwise's coordinator, not tsx's
// loader (about 40 MB more RSS under tsx).
const RSS_CHILD = fileURLToPath(new URL('./dist/coordinator-rss.js', import.meta.url));

/** One queue run's times. */
export interface QueueRunTimes {
  /** The whole `executePipeline` call: plan, run record, Redis setup, dispatch, events, teardown. */
  wallMs: number;
  /** From RUN_START to RUN_SUCCESS, as this process received them (includes the executor's close()). */
  runMs: number;
  /**
   * From RUN_START to the last step event received: the window the floor's timing corresponds to (dispatch to
   * the last completion read), without the run's teardown.
   */
  stepsMs: number;
}

/** Runs `pipeline` once through the queue executor and times it. */
export async function runQueueOnce(
  pipeline: PipelineDefinition,
  redisUrl: string,
  prefix: string,
  /** More run config beside `execution` (e.g. an op's config). */
  runConfig: Record<string, unknown> = {},
): Promise<QueueRunTimes> {
  let runStart = Number.NaN;
  let runEnd = Number.NaN;
  let lastStepEvent = Number.NaN;
  const t0 = performance.now();
  const result = await executePipeline(pipeline, {
    runConfig: { ...runConfig, execution: { queue: { redisUrl, prefix } } },
    // Outputs stay in Redis: fetching them into the result is retrieval, not execution.
    loadOutputs: false,
    onEvent: (event) => {
      if (event.stepKey !== undefined) lastStepEvent = performance.now();
      else if (event.type === 'RUN_START') runStart = performance.now();
      else if (event.type === 'RUN_SUCCESS') runEnd = performance.now();
    },
  });
  const wallMs = performance.now() - t0;
  if (result.status !== 'SUCCESS') {
    const failed = Object.values(result.steps)
      .filter((s) => s.status === 'FAILURE')
      .map((s) => `${s.key}: ${s.error?.message ?? '?'}`);
    throw new Error(`queue ${pipeline.name}: run ended ${result.status}\n${failed.slice(0, 5).join('\n')}`);
  }
  return { wallMs, runMs: runEnd - runStart, stepsMs: lastStepEvent - runStart };
}

/** Medians of one timing window over the timed runs. */
export interface WindowFigures {
  stepsPerSec: number;
  msPerStep: number;
  runsMs: number[];
}

export interface QueueFigures extends Throughput {
  /** RUN_START → RUN_SUCCESS. */
  run: WindowFigures;
  /** RUN_START → last step event: comparable with the floor's window. */
  toLastStep: WindowFigures;
}

function windowFigures(runsMs: number[], steps: number): WindowFigures {
  const mid = median(runsMs);
  return { stepsPerSec: (steps / mid) * 1000, msPerStep: mid / steps, runsMs };
}

/** Warm-up + `repetitions` queue runs; medians of the whole call and of the windows inside it. */
export async function measureQueue(
  pipeline: PipelineDefinition,
  workers: WorkerSet,
  repetitions: number,
  label = pipeline.name,
  warmup = true,
): Promise<QueueFigures> {
  const runs: QueueRunTimes[] = [];
  let timed = !warmup;
  const steps = pipeline.nodes.size;
  const once = async () => {
    workers.check();
    const t = await runQueueOnce(pipeline, workers.options.redisUrl, workers.options.prefix);
    if (timed) runs.push(t);
    timed = true; // the first call is the warm-up
    return t.wallMs;
  };
  const base = await measure(label, steps, repetitions, once, { warmup });
  return {
    ...base,
    run: windowFigures(
      runs.map((r) => r.runMs),
      steps,
    ),
    toLastStep: windowFigures(
      runs.map((r) => r.stepsMs),
      steps,
    ),
  };
}

export interface WorkloadQueueResult {
  queue: QueueFigures;
  floor: { stepsPerSec: number; msPerStep: number; runsMs: number[]; cpuMs: { driver: number; workers: number[] } };
}

export interface QueueBenchOptions {
  redisUrl: string;
  prefix: string;
  repetitions: number;
  workloads: Array<{ label: string; pipeline: PipelineDefinition; dag: Dag }>;
  /** Warm up before the timed runs. Default true. */
  warmup?: boolean;
  /** Stepwise workers to use (and leave running); default: start 2 for this call and stop them after. */
  workers?: WorkerSet;
  onProgress?: (line: string) => void;
}

/** Floor, then queue executor, per workload; 2 processes × concurrency 8 on each side. */
export async function benchQueue(options: QueueBenchOptions): Promise<Map<string, WorkloadQueueResult>> {
  const say = options.onProgress ?? (() => {});
  const pool = await FloorWorkerPool.start({ redisUrl: options.redisUrl, workers: 2, concurrency: 8 });
  const warmup = options.warmup ?? true;
  let workers: WorkerSet | undefined = options.workers;
  try {
    workers ??= await WorkerSet.start({ redisUrl: options.redisUrl, prefix: options.prefix, count: 2, concurrency: 8 });
    const out = new Map<string, WorkloadQueueResult>();
    for (const w of options.workloads) {
      say(`  floor ${w.label} (${w.dag.steps.length} steps)`);
      const floor = await measureFloor(w.dag, { redisUrl: options.redisUrl, pool }, options.repetitions, warmup);
      say(`  queue ${w.label}`);
      let queue: QueueFigures;
      try {
        queue = await measureQueue(w.pipeline, workers, options.repetitions, w.label, warmup);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${workers.logTail()}`);
      }
      const mid = [...floor.runs].sort((a, b) => a.ms - b.ms)[floor.runs.length >> 1];
      out.set(w.label, {
        queue,
        floor: {
          stepsPerSec: floor.stepsPerSec,
          msPerStep: floor.msPerStep,
          runsMs: floor.runs.map((r) => r.ms),
          cpuMs: mid?.cpuMs ?? { driver: 0, workers: [] },
        },
      });
    }
    return out;
  } finally {
    if (workers !== options.workers) await workers?.stop();
    await pool.stop();
  }
}

export interface RssFigures {
  /** The run storage of the coordinator. */
  storage: 'sqlite' | 'memory';
  steps: number;
  /** Peak of process.memoryUsage().rss sampled every 100 ms during the run, in MB. */
  peakRssMB: number;
  /** When several runs were made: each one's peak (peakRssMB is then the median run's). */
  peakRssRunsMB?: number[];
  /** The OS's peak RSS of the coordinator process (ru_maxrss), startup included, in MB. */
  maxRssMB: number;
  /** RSS just before the run started (pipeline already built), in MB. */
  baselineRssMB: number;
  /** Peak V8 heap used during the run, in MB. */
  peakHeapUsedMB: number;
  /** When the sampled peak came, as a fraction of the run's wall time (above 1: after the run, while returning). */
  peakAtFraction: number;
  /** process.memoryUsage() at the RSS peak, in MB: what of the RSS is V8's heap and what lies outside it. */
  atPeakMB: { heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  samples: number;
  wallMs: number;
  stepsPerSec: number;
}

/**
 * Runs a wide pipeline of `steps` steps through the queue executor in a fresh coordinator process, with 2 fresh
 * workers that build the same pipeline, and samples the coordinator's RSS every 100 ms.
 */
export async function measureCoordinatorRss(options: {
  redisUrl: string;
  prefix: string;
  steps: number;
  timeoutMs: number;
  /** Run storage: SQLite (stepwise.yaml's default) or in-memory (keeps the event log in the coordinator). */
  storage: 'sqlite' | 'memory';
  /** Workers started with $STEPWISE_BENCH_WIDE_STEPS = steps (left running); default: start 2 and stop them after. */
  workers?: WorkerSet;
  /** Another pipeline of queue-workloads.ts than `wide` (then `steps` is not used), and fs IO instead of Redis. */
  pipeline?: string;
  io?: 'redis' | 'fs';
}): Promise<RssFigures> {
  const env = { [WIDE_STEPS_ENV]: String(options.steps) };
  const other = options.pipeline ? { BENCH_PIPELINE: options.pipeline, BENCH_IO: options.io ?? 'redis' } : {};
  if (!options.pipeline && options.workers && options.workers.options.env?.[WIDE_STEPS_ENV] !== String(options.steps)) {
    throw new Error(
      `measureCoordinatorRss: the workers given were not started with ${WIDE_STEPS_ENV}=${options.steps}`,
    );
  }
  const workers =
    options.workers ??
    (await WorkerSet.start({ redisUrl: options.redisUrl, prefix: options.prefix, count: 2, concurrency: 8, env }));
  const prefix = workers.options.prefix;
  try {
    if (!existsSync(RSS_CHILD)) {
      throw new Error(
        `${RSS_CHILD} is not built: run the benchmark with \`npm run bench\` (or tsc -p bench/tsconfig.json)`,
      );
    }
    const child = fork(RSS_CHILD, [], {
      execArgv: [],
      env: {
        ...process.env,
        ...env,
        BENCH_REDIS_URL: options.redisUrl,
        BENCH_PREFIX: prefix,
        BENCH_STORAGE: options.storage,
        ...other,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const reply = await new Promise<CoordinatorRssReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(`the coordinator-RSS run of ${options.steps} steps did not finish within ${options.timeoutMs} ms`),
        );
      }, options.timeoutMs);
      child.once('message', (message: CoordinatorRssReply) => {
        clearTimeout(timer);
        resolve(message);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the coordinator-RSS process exited with code ${code} before reporting`));
      });
    });
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    if (reply.type === 'error') throw new Error(`coordinator-RSS run: ${reply.message}\n${workers.logTail()}`);
    return reply.figures;
  } finally {
    if (workers !== options.workers) await workers.stop();
  }
}
