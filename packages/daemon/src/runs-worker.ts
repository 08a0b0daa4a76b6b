import {
  codeLocationOf,
  type Instance,
  LaunchError,
  loadCodeLocation,
  NotFoundError,
  startResume,
  startStoredRun,
} from '@stepwise/core';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { createRunsRedis, runsRedisUrl } from './redis-connection.js';
import { parseRunJob, type RunsQueueConfig } from './runs-queue.js';

export interface RunsWorkerOptions {
  instance: Instance;
  queue: RunsQueueConfig;
  /** Run coordinators at once. Default 4. */
  concurrency?: number;
  logger: Logger;
}

/**
 * `stepwise worker --runs`: takes jobs from the `runs` queue and runs each run's coordinator here. A stalled job
 * (its worker died) is not retried by BullMQ: run monitoring sees the coordinator's heartbeat stop and resumes the
 * run, so only one place decides.
 */
export function startRunsWorker(options: RunsWorkerOptions): { close(): Promise<void> } {
  const { instance, logger } = options;
  const redis = createRunsRedis(runsRedisUrl(options.queue.redisUrl));
  const worker = new Worker(
    options.queue.queue,
    async (job) => {
      const data = parseRunJob(job.data);
      if (!data) throw new UnrecoverableError(`job ${job.id} is not a run job ({ runId, action: launch|resume })`);
      logger.info({ runId: data.runId, action: data.action }, 'run job taken');
      if (data.action === 'launch') {
        try {
          const result = await startStoredRun(instance, data.runId, { logger }).result;
          return result.status;
        } catch (error) {
          if (error instanceof LaunchError) return error.code;
          throw error;
        }
      }
      const run = await instance.storage.getRun(data.runId);
      if (!run) throw new NotFoundError(`run '${data.runId}' not found`);
      const { pipeline } = await loadCodeLocation(codeLocationOf(run));
      return (await startResume(pipeline, data.runId, { instance, logger }).result).status;
    },
    { connection: redis, prefix: options.queue.prefix, concurrency: options.concurrency ?? 4, maxStalledCount: 0 },
  );
  worker.on('failed', (job, error) => logger.error({ jobId: job?.id, err: error }, 'run job failed'));
  worker.on('error', (error) => logger.error({ err: error }, 'runs worker error'));
  return {
    async close() {
      await worker.close();
      redis.disconnect();
    },
  };
}
