// Ready steps far outnumbering the worker slots share BullMQ jobs (StepJobData.peers): what that must not change.
import { executePipeline, type StepwiseEvent } from '@stepwise/core';
import { QueueExecutor, RedisKeys, type StepJobData } from '@stepwise/executor-queue';
import { deletePrefix, killAllWorkers, uniquePrefix, waitForWorkers, within } from '@stepwise/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { bundled, LATTICE_LAYERS, LATTICE_WIDTH, lattice } from '../fixtures/queue-pipelines.js';
import { queueConfig, spawnWorker } from './harness.js';

const redisUrl = inject('redisUrl');
let prefix: string;

beforeEach(() => {
  prefix = uniquePrefix();
});

afterEach(async () => {
  await killAllWorkers();
  await deletePrefix(redisUrl, prefix);
});

const STEPS = Array.from({ length: 48 }, (_, i) => `w${i}`);

/** Bundle sizes (lead and peers) of the jobs waiting in the default queue (1 = a step alone). */
async function waitingBundleSizes(): Promise<number[]> {
  const redis = new Redis(redisUrl);
  const queue = new Queue('default', { connection: redis, prefix });
  try {
    const jobs = await queue.getWaiting(0, -1);
    return jobs.map((j) => 1 + ((j.data as StepJobData).peers?.length ?? 0));
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

describe('bundled steps', () => {
  it('share jobs when they far outnumber the slots, and each still runs once with its own outcome', async () => {
    spawnWorker({ redisUrl, prefix, name: 'b1', concurrency: 2 });
    await waitForWorkers(redisUrl, prefix, ['b1']);
    const events: StepwiseEvent[] = [];
    let sizes: Promise<number[]> | undefined;
    const result = await within(
      executePipeline(bundled, {
        runConfig: { ...queueConfig(redisUrl, prefix), ops: { w7: { config: { fail: true } } } },
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'STEP_START' && !sizes) sizes = waitingBundleSizes();
        },
      }),
      30_000,
      'the run',
    );
    // 48 ready steps, 2 slots: bundles of floor(48 / (4 * 2)) = 6.
    expect(Math.max(...((await sizes) ?? [0]))).toBeGreaterThan(1);
    expect(result.status).toBe('FAILURE');
    expect(result.steps.w7?.status).toBe('FAILURE');
    expect(result.steps.w7?.error?.message).toMatch(/work failed on purpose/);
    for (const key of STEPS.filter((k) => k !== 'w7')) expect(result.steps[key]?.status, key).toBe('SUCCESS');
    for (const key of STEPS) {
      const starts = events.filter((e) => e.type === 'STEP_START' && e.stepKey === key);
      expect(
        starts.map((e) => e.attempt),
        key,
      ).toEqual([1]);
    }
  });

  it('a worker killed in the middle of a bundle: its steps run again elsewhere, the run succeeds', async () => {
    const victim = spawnWorker({ redisUrl, prefix, name: 'victim', concurrency: 2 });
    await waitForWorkers(redisUrl, prefix, ['victim']);
    const events: StepwiseEvent[] = [];
    let killed = false;
    const result = await within(
      executePipeline(bundled, {
        runConfig: {
          ...queueConfig(redisUrl, prefix),
          ops: Object.fromEntries(STEPS.map((k) => [k, { config: { ms: 100 } }])),
        },
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'STEP_SUCCESS' && !killed) {
            killed = true;
            victim.proc.kill('SIGKILL');
            spawnWorker({ redisUrl, prefix, name: 'rescuer', concurrency: 2 });
          }
        },
      }),
      60_000,
      'the run to survive the kill',
    );
    expect(await victim.exited()).toBe('SIGKILL');
    expect(result.status).toBe('SUCCESS');
    for (const key of STEPS) expect(result.steps[key]?.status, key).toBe('SUCCESS');
    // The steps the victim was running or holding in its bundles ran again, as a new attempt, on the rescuer.
    const rerun = STEPS.filter((k) => (result.steps[k]?.attempts ?? 1) > 1);
    expect(rerun.length).toBeGreaterThan(0);
    for (const key of rerun) expect(result.steps[key]?.workerId, key).toBe('rescuer');
    expect(events.some((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'worker_lost')).toBe(true);
  });

  it('cancelling a run cancels the bundled steps that have not started, within seconds', async () => {
    spawnWorker({ redisUrl, prefix, name: 'c1', concurrency: 2 });
    await waitForWorkers(redisUrl, prefix, ['c1']);
    const controller = new AbortController();
    const keys = new RedisKeys(prefix);
    const result = await within(
      executePipeline(bundled, {
        runConfig: {
          ...queueConfig(redisUrl, prefix),
          ops: Object.fromEntries(STEPS.map((k) => [k, { config: { ms: 200 } }])),
        },
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'STEP_SUCCESS') controller.abort();
        },
      }),
      20_000,
      'the canceled run to end',
    );
    expect(result.status).toBe('CANCELED');
    const statuses = STEPS.map((k) => result.steps[k]?.status);
    expect(statuses.filter((s) => s === 'SUCCESS').length).toBeLessThan(STEPS.length);
    for (const s of statuses) expect(['SUCCESS', 'FAILURE', 'CANCELED', 'NOT_STARTED', 'SKIPPED']).toContain(s);
    // Nothing of the run is left to run.
    const redis = new Redis(redisUrl);
    const queue = new Queue('default', { connection: redis, prefix });
    try {
      expect(await queue.getWaitingCount()).toBe(0);
      expect(await redis.exists(keys.runCanceled(result.runId))).toBe(1);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });

  it('keeps in flight 32 steps per live worker slot (at least 1,000) unless maxStepsInFlight is set', async () => {
    const executor = new QueueExecutor({ redisUrl, prefix, lockDurationMs: 1_000 });
    expect(executor.maxConcurrent).toBe(1_000);
    spawnWorker({ redisUrl, prefix, name: 'wide1', concurrency: 40 });
    spawnWorker({ redisUrl, prefix, name: 'wide2', concurrency: 10 });
    await waitForWorkers(redisUrl, prefix, ['wide1', 'wide2']);
    let during: number | undefined;
    const result = await within(
      executePipeline(bundled, {
        executor,
        onEvent: (e) => {
          if (e.type === 'STEP_START') during ??= executor.maxConcurrent;
        },
      }),
      30_000,
      'the run',
    );
    expect(result.status).toBe('SUCCESS');
    expect(during).toBe(32 * 50);
    const fixed = new QueueExecutor({ redisUrl, prefix, maxStepsInFlight: 7 });
    expect(fixed.maxConcurrent).toBe(7);
  });
});

describe('steps of quick ops', () => {
  const steps = LATTICE_LAYERS * LATTICE_WIDTH;
  const sums = Array.from({ length: (LATTICE_LAYERS - 1) * LATTICE_WIDTH }, (_, i) => {
    return `l${1 + Math.floor(i / LATTICE_WIDTH)}_${i % LATTICE_WIDTH}`;
  });

  it('share jobs however short the backlog once their op is known to be quick; slow ops keep a job each', async () => {
    // Two slots: a backlog of a layer (12) stays under 8 per slot, and few steps interleave to stretch durations.
    spawnWorker({ redisUrl, prefix, name: 'q1', concurrency: 2 });
    await waitForWorkers(redisUrl, prefix, ['q1']);
    const local = await executePipeline(lattice);

    const quick = new QueueExecutor({ redisUrl, prefix });
    const result = await within(executePipeline(lattice, { executor: quick }), 30_000, 'the quick run');
    expect(result.status).toBe('SUCCESS');
    for (const key of Object.keys(local.steps)) expect(result.output(key), key).toEqual(local.output(key));
    // The first steps of each op run alone (their duration is not known yet); later ones share jobs.
    expect(quick.stats.bundledSteps).toBeGreaterThan(0);
    expect(quick.stats.jobsAdded + quick.stats.bundledSteps).toBe(steps);

    // 20 ms a step: as many jobs as steps (no chain either: every step has two parents and two dependents).
    const slow = new QueueExecutor({ redisUrl, prefix });
    const ops = Object.fromEntries(sums.map((key) => [key, { config: { ms: 20 } }]));
    const slowResult = await within(executePipeline(lattice, { executor: slow, runConfig: { ops } }), 30_000, 'run');
    expect(slowResult.status).toBe('SUCCESS');
    expect(slowResult.output(sums.at(-1) as string)).toEqual(local.output(sums.at(-1) as string));
    expect(slow.stats.bundledSteps).toBe(0);
    expect(slow.stats.jobsAdded).toBe(steps);
  });
});
