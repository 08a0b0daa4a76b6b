import { Instance } from '@stepwise/core';
import type { Logger } from 'pino';
import { daemonSettings } from '../config.js';
import { runsQueueConfig } from '../runs-queue.js';
import { startRunsWorker } from '../runs-worker.js';

export interface ServeRunsOptions {
  concurrency?: number;
  /** Overrides `runLauncher.queue.redisUrl`. */
  redisUrl?: string;
  logger: Logger;
}

/**
 * `stepwise worker --runs`: runs the coordinators of the runs the queue launcher puts on the `runs` queue, on the
 * local instance (`$STEPWISE_HOME`: it must share the daemon's storage), until SIGTERM/SIGINT; then it waits for
 * the coordinators in progress and exits.
 */
export async function serveRuns(options: ServeRunsOptions): Promise<void> {
  const { logger } = options;
  const instance = await Instance.local();
  const config = runsQueueConfig(daemonSettings(instance.config).runLauncher);
  const queue = options.redisUrl === undefined ? config : { ...config, redisUrl: options.redisUrl };
  const worker = startRunsWorker({
    instance,
    queue,
    logger,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
  logger.info({ queue: queue.queue }, 'taking run coordinators from the runs queue');
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping: waiting for the run coordinators in progress');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await worker.close();
  await instance.close();
}
