/**
 * The 20,000-item dynamic fan-out on the queue executor (issue 21): one step whose dynamic output has 20,000 items,
 * each mapped by a no-op step, then summed (20,002 steps), on 2 `stepwise worker` processes x 8, with its outputs
 * in Redis and then in files; the coordinator is a process of its own (coordinator-rss.ts) that samples its RSS.
 */
import type { RssFigures } from './queue-bench.js';
import { measureCoordinatorRss } from './queue-bench.js';
import { WorkerSet } from './worker-set.js';

export interface BigFanOutFigures extends RssFigures {
  io: 'redis' | 'fs';
}

export async function benchBigFanOut(options: {
  redisUrl: string;
  prefix: string;
  quick: boolean;
  log: (line: string) => void;
}): Promise<BigFanOutFigures[]> {
  const { log } = options;
  const workers = await WorkerSet.start({
    redisUrl: options.redisUrl,
    prefix: options.prefix,
    count: 2,
    concurrency: 8,
  });
  const results: BigFanOutFigures[] = [];
  try {
    for (const io of ['redis', 'fs'] as const) {
      const figures = await measureCoordinatorRss({
        redisUrl: options.redisUrl,
        prefix: options.prefix,
        steps: 0,
        storage: 'sqlite',
        timeoutMs: 600_000,
        workers,
        pipeline: options.quick ? 'fan_out_quick' : 'fan_out',
        io,
      });
      log(
        `   ${io} IO: ${figures.steps.toLocaleString('en-US')} steps in ${(figures.wallMs / 1000).toFixed(1)} s (${Math.round(figures.stepsPerSec)} steps/s); coordinator peak RSS ${figures.peakRssMB.toFixed(0)} MB (before the run ${figures.baselineRssMB.toFixed(0)} MB, ru_maxrss ${figures.maxRssMB.toFixed(0)} MB), peak heap used ${figures.peakHeapUsedMB.toFixed(0)} MB`,
      );
      results.push({ ...figures, io });
    }
  } finally {
    await workers.stop();
  }
  return results;
}
