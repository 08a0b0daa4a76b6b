// Heavy steps (issue 20): CPU-bound steps run off the worker's loop (--isolation thread|process) keep their locks;
// on the loop (none) they fail after bounded stalls naming the fix; steps that ignore their abort are killed.
import { resolve } from 'node:path';
import { executePipeline, Instance, type StepwiseEvent } from '@stepwise/core';
import { jobIdOf, listWorkers, RedisKeys, type WorkerInfo } from '@stepwise/executor-queue';
import {
  deletePrefix,
  killAllWorkers,
  runProcess,
  uniquePrefix,
  waitForWorkers,
  waitUntil,
  within,
} from '@stepwise/testing';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { busyLoop, mixed, overrunStep, placement, quickStep, stubbornStep } from '../fixtures/heavy-pipelines.js';
import { CLI, queueConfig, ROOT, spawnWorker } from './harness.js';

const FIXTURE = resolve(ROOT, 'test/fixtures/heavy-pipelines.ts');
const redisUrl = inject('redisUrl');
let prefix: string;

beforeEach(() => {
  prefix = uniquePrefix();
});

afterEach(async () => {
  await killAllWorkers();
  await deletePrefix(redisUrl, prefix);
});

function startWorkers(
  names: string[],
  isolation: string,
  extra: string[] = [],
  concurrency = 1,
  lockDurationMs = 2_000,
) {
  return names.map((name) =>
    spawnWorker({
      file: FIXTURE,
      redisUrl,
      prefix,
      name,
      concurrency,
      lockDurationMs,
      extraArgs: ['--isolation', isolation, ...extra],
    }),
  );
}

async function workerInfo(name: string): Promise<WorkerInfo | undefined> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    return (await listWorkers(redis, new RedisKeys(prefix))).find((w) => w.name === name);
  } finally {
    redis.disconnect();
  }
}

/** Until the worker's pool has all its members loaded and idle, by a heartbeat written after `since`. */
async function poolIdle(name: string, since = 0): Promise<void> {
  await waitUntil(
    async () => {
      const info = await workerInfo(name);
      if (!info || info.heartbeatAt <= since) return undefined;
      const pools = info.pools ?? [];
      return pools.length > 0 && pools.every((p) => p.ready === p.size && p.busy === 0) ? true : undefined;
    },
    // Every member loads the code (tsx compiles it): slow on a loaded 2-core machine.
    180_000,
    `worker ${name}'s pool to be loaded and idle`,
  );
}

/** The step's last STEP_FAILURE. */
const failureOf = (events: StepwiseEvent[], step: string) =>
  events.findLast((e) => e.type === 'STEP_FAILURE' && e.stepKey === step);

describe('heavy steps', { timeout: 240_000 }, () => {
  for (const isolation of ['thread', 'process']) {
    it(`a 7 s busy loop with a 2 s lock runs once and succeeds with --isolation ${isolation}`, async () => {
      const workers = startWorkers(['h1', 'h2'], isolation);
      await waitForWorkers(redisUrl, prefix, ['h1', 'h2'], 20_000, workers);
      const instance = Instance.ephemeral();
      const result = await within(
        executePipeline(busyLoop, {
          instance,
          runConfig: {
            ...queueConfig(redisUrl, prefix, { lockDurationMs: 2_000 }),
            ops: { busy: { config: { ms: 7_000 } } },
          },
        }),
        60_000,
        'the busy-loop run',
      );
      expect(result.status).toBe('SUCCESS');
      expect(result.steps.busy?.attempts).toBe(1);
      const events = await instance.storage.getEvents(result.runId);
      expect(events.filter((e) => e.type === 'STEP_START' && e.stepKey === 'busy')).toHaveLength(1);
      expect(events.some((e) => e.type === 'ENGINE_EVENT' && ['worker_lost', 'stalled'].includes(e.data.kind))).toBe(
        false,
      );
      expect(result.output('after')).toBeGreaterThanOrEqual(7_000);
    });
  }

  it('with --isolation none the busy loop fails after the bounded stalls, naming the fix', async () => {
    const workers = startWorkers(['n1', 'n2'], 'none');
    await waitForWorkers(redisUrl, prefix, ['n1', 'n2'], 20_000, workers);
    const instance = Instance.ephemeral();
    const result = await within(
      executePipeline(busyLoop, {
        instance,
        runConfig: {
          ...queueConfig(redisUrl, prefix, { lockDurationMs: 2_000 }),
          ops: { busy: { config: { ms: 7_000 } } },
        },
      }),
      90_000,
      'the busy-loop run to end',
    );
    expect(result.status).toBe('FAILURE');
    expect(result.steps.after?.status).not.toBe('SUCCESS');
    const events = await instance.storage.getEvents(result.runId);
    const failure = failureOf(events, 'busy');
    expect(failure?.type === 'STEP_FAILURE' && failure.data.error.code).toBe('STEP_STALLED');
    expect(failure?.message).toMatch(/--isolation thread/);
    expect(failure?.message).toMatch(/--lock-duration/);
    // Every re-run the stalls caused is explained on the run.
    const stalled = events.filter((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'stalled');
    expect(stalled.length).toBeGreaterThanOrEqual(1);
    const reruns = events.filter((e) => e.type === 'ENGINE_EVENT' && ['worker_lost', 'stalled'].includes(e.data.kind));
    expect(reruns.length).toBeGreaterThanOrEqual((result.steps.busy?.attempts ?? 1) - 1);
    expect(result.steps.busy?.attempts ?? 0).toBeLessThanOrEqual(6);
  });

  for (const isolation of ['thread', 'process']) {
    it(`an abort-ignoring step of a canceled run is killed with --isolation ${isolation}, and its slot is free`, async () => {
      const workers = startWorkers(['k1'], isolation, ['--cancel-grace', '1000']);
      await waitForWorkers(redisUrl, prefix, ['k1'], 20_000, workers);
      await poolIdle('k1');
      const instance = Instance.ephemeral();
      const controller = new AbortController();
      const result = await within(
        executePipeline(stubbornStep, {
          instance,
          runConfig: queueConfig(redisUrl, prefix),
          signal: controller.signal,
          onEvent: (e) => {
            if (e.type === 'STEP_START' && e.stepKey === 'stubborn') setTimeout(() => controller.abort(), 300);
          },
        }),
        30_000,
        'the canceled run to end',
      );
      expect(result.status).toBe('CANCELED');
      const killed = await waitUntil(
        async () => {
          const events = await instance.storage.getEvents(result.runId);
          return events.find((e) => e.type === 'STEP_FAILURE' && e.stepKey === 'stubborn');
        },
        10_000,
        'the step failure',
      );
      expect(killed.type === 'STEP_FAILURE' && killed.data.error.code).toBe('STEP_KILLED');
      expect(killed.message).toMatch(
        isolation === 'thread' ? /its thread \d+ was killed/ : /its process \d+ was killed/,
      );
      if (isolation === 'process') {
        const pid = Number(/process (\d+)/.exec(killed.message ?? '')?.[1]);
        expect(() => process.kill(pid, 0)).toThrow();
      }
      // A heartbeat from after the kill: one from before the step started also shows the pool idle.
      await poolIdle('k1', killed.timestamp);
      // When the next run's job reaches the queue (the Redis time of BullMQ's 'added' event) to its step's start.
      const events = new QueueEvents('default', { connection: { url: redisUrl }, prefix });
      const added = new Map<string, number>();
      events.on('added', ({ jobId }, id) => added.set(jobId, Number(id.split('-')[0])));
      try {
        await events.waitUntilReady();
        const nextRun = Instance.ephemeral();
        const next = await within(
          executePipeline(quickStep, { instance: nextRun, runConfig: queueConfig(redisUrl, prefix) }),
          20_000,
          'the next run',
        );
        expect(next.status).toBe('SUCCESS');
        const stepStart = (await nextRun.storage.getEvents(next.runId)).find((e) => e.type === 'STEP_START');
        const jobAdded = await waitUntil(
          () => added.get(jobIdOf(next.runId, 'quick', 1)),
          5_000,
          "the job's 'added' event",
        );
        expect((stepStart?.timestamp ?? Number.POSITIVE_INFINITY) - jobAdded).toBeLessThan(1_000);
      } finally {
        await events.close();
      }
    });
  }

  it('with --isolation none an abort-ignoring step is abandoned, and `stepwise workers` says why', async () => {
    const workers = startWorkers(['a1'], 'none', ['--cancel-grace', '500']);
    await waitForWorkers(redisUrl, prefix, ['a1'], 20_000, workers);
    const instance = Instance.ephemeral();
    const controller = new AbortController();
    const result = await within(
      executePipeline(stubbornStep, {
        instance,
        runConfig: queueConfig(redisUrl, prefix),
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'STEP_START') setTimeout(() => controller.abort(), 300);
        },
      }),
      30_000,
      'the canceled run to end',
    );
    expect(result.status).toBe('CANCELED');
    const listed = await waitUntil(
      async () => {
        const out = await runProcess(process.execPath, [CLI, 'workers', '--redis', redisUrl, '--prefix', prefix]);
        return out.stdout.includes('abandoned: stubborn') ? out.stdout : undefined;
      },
      15_000,
      '`stepwise workers` to list the abandoned step',
    );
    expect(listed).toMatch(/did not stop within 500 ms/);
  });

  it("an op's timeoutMs kills a step that ignores its abort, as a STEP_FAILURE naming the timeout", async () => {
    const workers = startWorkers(['t1'], 'thread', ['--cancel-grace', '500']);
    await waitForWorkers(redisUrl, prefix, ['t1'], 20_000, workers);
    const instance = Instance.ephemeral();
    const result = await within(
      executePipeline(overrunStep, { instance, runConfig: queueConfig(redisUrl, prefix) }),
      30_000,
      'the run',
    );
    expect(result.status).toBe('FAILURE');
    const failure = failureOf(await instance.storage.getEvents(result.runId), 'overrun');
    expect(failure?.type === 'STEP_FAILURE' && failure.data.error.code).toBe('STEP_KILLED');
    expect(failure?.message).toMatch(/exceeded its timeout of 500 ms \(op 'overrun' timeoutMs\)/);
  });

  it('an op tagged isolation: process runs in a child process of a none worker; others on its loop', async () => {
    const workers = startWorkers(['p1'], 'none', [], 2);
    await waitForWorkers(redisUrl, prefix, ['p1'], 20_000, workers);
    const result = await within(
      executePipeline(placement, { runConfig: queueConfig(redisUrl, prefix) }),
      30_000,
      'run',
    );
    expect(result.status).toBe('SUCCESS');
    const worker = workers[0]?.proc.pid;
    expect(result.output('where')).toEqual({ pid: worker, mainThread: true });
    expect((result.output('in_process') as { pid: number }).pid).not.toBe(worker);
  });

  it("I/O-bound steps on the worker's loop stay responsive while CPU-bound steps run beside them", async () => {
    const workers = startWorkers(['m1'], 'none', [], 4);
    await waitForWorkers(redisUrl, prefix, ['m1'], 20_000, workers);
    // The worker starts the thread pool its ops ask for with the worker: loaded before the first step.
    await poolIdle('m1');
    const ops = {
      cpu_0: { config: { ms: 4_000 } },
      cpu_1: { config: { ms: 4_000 } },
      io_0: { config: { ms: 5_000 } },
      io_1: { config: { ms: 5_000 } },
    };
    const result = await within(
      executePipeline(mixed, { runConfig: { ...queueConfig(redisUrl, prefix), ops } }),
      60_000,
      'the mixed run',
    );
    expect(result.status).toBe('SUCCESS');
    type Span = { from: number; to: number };
    const cpu = ['cpu_0', 'cpu_1'].map((k) => result.output(k) as Span);
    for (const key of ['io_0', 'io_1']) {
      const io = result.output(key) as Span & { worstLateMs: number; ticks: number };
      // The CPU steps ran during the I/O step's window...
      expect(cpu.some((c) => c.from < io.to && c.to > io.from)).toBe(true);
      // ...and its 50 ms timers were never held up for anything like the CPU steps' 4 s (a bound, not a target).
      expect(io.worstLateMs).toBeLessThan(1_500);
    }
  });
});
