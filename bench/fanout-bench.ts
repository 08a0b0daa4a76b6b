/**
 * Mapped vs static fan-outs on the queue executor (issue 22): steps/s of each at the same size, with 2
 * `stepwise worker` processes x 8, one run each after a warm-up of the smallest size. The ratio mapped/static is
 * the figure: a coordinator that scans per value falls behind as the fan-out grows.
 */
import { FAN_STEPS_ENV, mappedFan, mappedFanConfig, staticFan } from './fanout-workloads.js';
import { runQueueOnce } from './queue-bench.js';
import { WorkerSet } from './worker-set.js';

export interface FanOutFigures {
  items: number;
  staticStepsPerSec: number;
  mappedStepsPerSec: number;
  /** mapped / static. */
  ratio: number;
}

export async function measureFanOuts(options: {
  redisUrl: string;
  prefix: string;
  sizes: number[];
  onProgress?: (line: string) => void;
}): Promise<FanOutFigures[]> {
  const env = { [FAN_STEPS_ENV]: options.sizes.join(',') };
  const workers = await WorkerSet.start({
    redisUrl: options.redisUrl,
    prefix: options.prefix,
    count: 2,
    concurrency: 8,
    env,
  });
  const mapped = mappedFan;
  try {
    const smallest = Math.min(...options.sizes);
    await runQueueOnce(mapped, options.redisUrl, options.prefix, mappedFanConfig(smallest));
    await runQueueOnce(staticFan(smallest), options.redisUrl, options.prefix);
    const out: FanOutFigures[] = [];
    for (const items of options.sizes) {
      workers.check();
      const steps = items + 2;
      const s = await runQueueOnce(staticFan(items), options.redisUrl, options.prefix);
      const m = await runQueueOnce(mapped, options.redisUrl, options.prefix, mappedFanConfig(items));
      const figures = {
        items,
        staticStepsPerSec: (steps / s.runMs) * 1000,
        mappedStepsPerSec: (steps / m.runMs) * 1000,
        ratio: s.runMs / m.runMs,
      };
      options.onProgress?.(
        `${items} items: static ${figures.staticStepsPerSec.toFixed(0)} steps/s, mapped ${figures.mappedStepsPerSec.toFixed(0)} steps/s (${figures.ratio.toFixed(2)}x)`,
      );
      out.push(figures);
    }
    return out;
  } finally {
    await workers.stop();
  }
}
