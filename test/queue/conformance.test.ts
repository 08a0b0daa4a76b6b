// The executor conformance suite (@stepwise/testing) on the queue executor, with real `stepwise worker`
// processes on a real Redis.
import {
  CONFORMANCE_PIPELINES,
  deletePrefix,
  killAllWorkers,
  runExecutorConformance,
  spawnWorker,
  uniquePrefix,
  type WorkerProcess,
  waitForWorkers,
} from '@stepwise/testing';
import { expect, inject } from 'vitest';

const redisUrl = inject('redisUrl');
const prefix = uniquePrefix();
let workers: WorkerProcess[] = [];

runExecutorConformance('queue', {
  async setup() {
    workers = ['c1', 'c2'].map((name) => spawnWorker({ file: CONFORMANCE_PIPELINES, redisUrl, prefix, name }));
    await waitForWorkers(redisUrl, prefix, ['c1', 'c2'], 30_000, workers);
  },
  async teardown() {
    await Promise.all(workers.map((w) => w.stop(10_000)));
    await killAllWorkers();
    await deletePrefix(redisUrl, prefix);
  },
  execution: () => ({ queue: { redisUrl, prefix, lockDurationMs: 1_000 } }),
  expectWorkers: (ids) => {
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(['c1', 'c2']).toContain(id);
  },
  runTimeoutMs: 40_000,
});
