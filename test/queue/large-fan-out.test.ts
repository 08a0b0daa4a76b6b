// A step whose dynamic output has 20,000 items sends 20,002 events in one turn: more than one stream entry takes.
// The worker splits them into entries the coordinator accepts, and the run succeeds with Redis IO and with fs IO.
// An entry the coordinator refuses anyway is reported on its run as an ENGINE_EVENT, not only dead-lettered.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executePipeline, FsIOManager, Instance, MemoryRunStorage, type StepwiseEvent } from '@stepwise/core';
import { RedisKeys } from '@stepwise/executor-queue';
import {
  deletePrefix,
  killAllWorkers,
  uniquePrefix,
  type WorkerProcess,
  waitForWorkers,
  within,
} from '@stepwise/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { largeFanOut, longStep } from '../fixtures/queue-pipelines.js';
import { queueConfig, spawnWorker } from './harness.js';

const redisUrl = inject('redisUrl');
const prefix = uniquePrefix();
const tmp = mkdtempSync(join(tmpdir(), 'stepwise-large-fan-out-'));
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  workers = ['lf1', 'lf2'].map((name) => spawnWorker({ redisUrl, prefix, name, lockDurationMs: 10_000 }));
  await waitForWorkers(redisUrl, prefix, ['lf1', 'lf2'], 30_000, workers);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop(10_000)));
  await killAllWorkers();
  await deletePrefix(redisUrl, prefix);
  rmSync(tmp, { recursive: true, force: true });
});

const SUM = (19_999 * 20_000) / 2;

describe('a 20,000-item dynamic fan-out on the queue executor', () => {
  it('succeeds with the Redis IO', async () => {
    const result = await within(
      executePipeline(largeFanOut, { runConfig: queueConfig(redisUrl, prefix, { queueTimeoutMs: 90_000 }) }),
      120_000,
      'the fan-out run on Redis IO',
    );
    expect(result.steps.many_items?.error?.message).toBeUndefined();
    expect(result.status).toBe('SUCCESS');
    expect(result.output('fan_in_total')).toBe(SUM);
  }, 150_000);

  it('succeeds with the fs IO', async () => {
    const instance = new Instance({ storage: new MemoryRunStorage(), io: new FsIOManager(tmp) });
    const result = await within(
      executePipeline(largeFanOut, {
        instance,
        runConfig: queueConfig(redisUrl, prefix, { queueTimeoutMs: 90_000 }),
      }),
      120_000,
      'the fan-out run on fs IO',
    );
    expect(result.steps.many_items?.error?.message).toBeUndefined();
    expect(result.status).toBe('SUCCESS');
    expect(result.output('fan_in_total')).toBe(SUM);
  }, 150_000);

  it('an entry the coordinator refuses is an ENGINE_EVENT on its run', async () => {
    const keys = new RedisKeys(prefix);
    const redis = new Redis(redisUrl);
    const events: StepwiseEvent[] = [];
    try {
      const result = await within(
        executePipeline(longStep, {
          runConfig: { ...queueConfig(redisUrl, prefix), ops: { long: { config: { ms: 500 } } } },
          onEvent: (e) => {
            events.push(e);
            if (e.type === 'STEP_START' && e.stepKey === 'long')
              void redis.xadd(keys.runEvents(e.runId), '*', 'e', Buffer.from([0xc1, 0xff, 0x00]), 'i', 'evil:1');
          },
        }),
        30_000,
        'run',
      );
      expect(result.status).toBe('SUCCESS');
      const refused = events.filter((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'entry_refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]?.message).toMatch(
        /^an entry of the run's event stream was refused and dead-lettered: malformed/,
      );
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
