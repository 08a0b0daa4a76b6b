import type { RunRecord } from '@stepwise/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRunsRedis, runsRedisUrl } from '../redis-connection.js';
import type { RunJobData, RunsQueueConfig } from '../runs-queue.js';
import type { LaunchDetails, LauncherContext, RunLauncher } from './run-launcher.js';

/**
 * `runLauncher: { queue: { queue: runs } }`: the run's coordinator becomes a BullMQ job on the `runs` queue, which
 * `stepwise worker --runs` processes take (the run's steps still go to the step queues). Job ids are derived from
 * the run (and resume attempt), so a decision taken twice adds one job.
 */
export class QueueLauncher implements RunLauncher {
  readonly kind = 'queue';
  private readonly redis: Redis;
  private readonly queue: Queue<RunJobData>;

  constructor(config: RunsQueueConfig, _context: LauncherContext) {
    this.redis = createRunsRedis(runsRedisUrl(config.redisUrl));
    this.queue = new Queue<RunJobData>(config.queue, { connection: this.redis, prefix: config.prefix });
  }

  launch(run: RunRecord): Promise<LaunchDetails> {
    return this.add({ runId: run.runId, action: 'launch' }, `launch-${run.runId}`);
  }

  async resume(run: RunRecord): Promise<LaunchDetails> {
    // A job of an earlier decision still waiting (no worker took it) must not start a second coordinator later.
    const attempt = (run.resumeAttempts ?? 0) + 1;
    const stale = [
      `launch-${run.runId}`,
      ...Array.from({ length: attempt - 1 }, (_, i) => `resume-${run.runId}-${i + 1}`),
    ];
    await Promise.all(stale.map((id) => this.queue.remove(id).catch(() => 0)));
    return this.add({ runId: run.runId, action: 'resume' }, `resume-${run.runId}-${(run.resumeAttempts ?? 0) + 1}`);
  }

  private async add(data: RunJobData, jobId: string): Promise<LaunchDetails> {
    await this.queue.add(data.action, data, { jobId, removeOnComplete: true, removeOnFail: 1_000, attempts: 1 });
    return { jobId };
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
  }
}
