/**
 * A coordinator process for one large queue run, forked by queue-bench.ts's measureCoordinatorRss: it runs the
 * `wide` pipeline of bench/queue-workloads.ts (sized by $STEPWISE_BENCH_WIDE_STEPS, the same value the workers
 * were started with) through the queue executor, samples its own RSS every 100 ms, and sends the figures to its
 * parent over IPC. A process of its own, so the heap holds this run and nothing else the benchmark did.
 * $BENCH_STORAGE picks the run storage: `sqlite` (stepwise.yaml's default, in a temp dir) or `memory` (what
 * executePipeline uses without an instance; it keeps the whole event log in this process). $BENCH_PIPELINE names
 * another pipeline of queue-workloads.ts to run instead (the 20,000-item `fan_out`), and $BENCH_IO=fs puts the
 * step outputs in files of the temp dir instead of Redis.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executePipeline, Instance, type PipelineDefinition } from '@stepwise/core';
import type { RssFigures } from './queue-bench.js';
import * as workloads from './queue-workloads.js';
import { wide } from './queue-workloads.js';

export type CoordinatorRssReply = { type: 'done'; figures: RssFigures } | { type: 'error'; message: string };

const MB = 1024 * 1024;

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`coordinator-rss: ${name} is not set (this file is forked by bench/queue-bench.ts)`);
  return value;
}

async function main(): Promise<RssFigures> {
  const redisUrl = setting('BENCH_REDIS_URL');
  const prefix = setting('BENCH_PREFIX');
  const named = process.env.BENCH_PIPELINE;
  const pipeline = (named ? (workloads as Record<string, unknown>)[named] : wide) as PipelineDefinition | undefined;
  if (!pipeline?.nodes) {
    throw new Error(`coordinator-rss: no pipeline ${named ?? 'wide ($STEPWISE_BENCH_WIDE_STEPS is not set)'}`);
  }
  const fsIO = process.env.BENCH_IO === 'fs';
  const storage = setting('BENCH_STORAGE');
  if (storage !== 'sqlite' && storage !== 'memory')
    throw new Error(`coordinator-rss: unknown BENCH_STORAGE ${storage}`);
  const home = await mkdtemp(join(tmpdir(), 'stepwise-rss-'));
  // Outputs go through Redis either way (the queue executor's choice for a non-fs IO manager).
  const instance = await Instance.fromConfig(
    {
      storage: storage === 'sqlite' ? { sqlite: {} } : { memory: {} },
      io: fsIO ? { fs: { dir: join(home, 'io') } } : { memory: {} },
      computeLogs: { memory: {} },
    },
    { home },
  );
  const baseline = process.memoryUsage().rss;
  let peakRss = baseline;
  let peakHeap = process.memoryUsage().heapUsed;
  let atPeak = process.memoryUsage();
  let peakAt = 0;
  let samples = 0;
  const sample = () => {
    const m = process.memoryUsage();
    samples++;
    if (m.rss > peakRss) {
      peakRss = m.rss;
      peakAt = performance.now();
      atPeak = m;
    }
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  const t0 = performance.now();
  const timer = setInterval(sample, 100);
  let status: string;
  let steps = 0;
  try {
    const result = await executePipeline(pipeline, {
      instance,
      runConfig: { execution: { queue: { redisUrl, prefix } } },
      loadOutputs: false,
    });
    status = result.status;
    steps = Object.keys(result.steps).length;
  } finally {
    clearInterval(timer);
    await instance.close();
    await rm(home, { recursive: true, force: true });
  }
  const wallMs = performance.now() - t0;
  sample();
  if (status !== 'SUCCESS') throw new Error(`${pipeline.name}: run ended ${status}`);
  return {
    storage,
    steps,
    peakRssMB: peakRss / MB,
    // ru_maxrss is in kilobytes on Linux.
    maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
    baselineRssMB: baseline / MB,
    peakHeapUsedMB: peakHeap / MB,
    peakAtFraction: (peakAt - t0) / wallMs,
    atPeakMB: {
      heapTotal: atPeak.heapTotal / MB,
      heapUsed: atPeak.heapUsed / MB,
      external: atPeak.external / MB,
      arrayBuffers: atPeak.arrayBuffers / MB,
    },
    samples,
    wallMs,
    stepsPerSec: (steps / wallMs) * 1000,
  };
}

main().then(
  (figures) => process.send?.({ type: 'done', figures } satisfies CoordinatorRssReply, () => process.exit(0)),
  (err: unknown) =>
    process.send?.(
      {
        type: 'error',
        message: err instanceof Error ? (err.stack ?? err.message) : String(err),
      } satisfies CoordinatorRssReply,
      () => process.exit(1),
    ),
);
