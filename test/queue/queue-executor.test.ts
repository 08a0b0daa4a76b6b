import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { executePipeline, Instance, type StepwiseEvent } from '@stepwise/core';
import { RedisKeys } from '@stepwise/executor-queue';
import { deletePrefix, killAllWorkers, uniquePrefix, waitForWorkers, waitUntil, within } from '@stepwise/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  bigChain,
  cancelable,
  chain,
  diamondDynamic,
  inputDeleted,
  longStep,
  resourceFails,
  routing,
  unserved,
  wide,
} from '../fixtures/queue-pipelines.js';
import { CLI, FIXTURE, queueConfig, ROOT, spawnWorker } from './harness.js';

const run = promisify(execFile);
const redisUrl = inject('redisUrl');

let prefix: string;
let tmp: string;

beforeEach(() => {
  prefix = uniquePrefix();
  tmp = mkdtempSync(join(tmpdir(), 'stepwise-queue-'));
});

afterEach(async () => {
  await killAllWorkers();
  await deletePrefix(redisUrl, prefix);
  rmSync(tmp, { recursive: true, force: true });
});

function collector() {
  const events: StepwiseEvent[] = [];
  return { events, onEvent: (e: StepwiseEvent) => void events.push(e) };
}

describe('queue executor with real worker processes', () => {
  it('runs a diamond + dynamic fan-out on 3 workers with the same outputs as in-process', async () => {
    const workers = ['w1', 'w2', 'w3'].map((name) => spawnWorker({ redisUrl, prefix, name }));
    await waitForWorkers(
      redisUrl,
      prefix,
      workers.map((w) => w.name),
    );
    const { events, onEvent } = collector();
    const result = await within(
      executePipeline(diamondDynamic, { runConfig: queueConfig(redisUrl, prefix), onEvent }),
      30_000,
      'the queue run',
    );
    const local = await executePipeline(diamondDynamic);
    expect(result.status).toBe('SUCCESS');
    for (const key of ['source', 'double', 'square', 'add', 'total', 'grand']) {
      expect(result.output(key)).toEqual(local.output(key));
    }
    expect(Object.keys(result.steps).sort()).toEqual(Object.keys(local.steps).sort());
    const ran = new Set(events.filter((e) => e.type === 'STEP_START').map((e) => e.workerId));
    expect([...ran].every((w) => ['w1', 'w2', 'w3'].includes(String(w)))).toBe(true);
  });

  it('runs a chain on one worker without a round trip through the coordinator per step', async () => {
    spawnWorker({ redisUrl, prefix, name: 'c1' });
    spawnWorker({ redisUrl, prefix, name: 'c2' });
    await waitForWorkers(redisUrl, prefix, ['c1', 'c2']);
    const { events, onEvent } = collector();
    const result = await within(
      executePipeline(chain, { runConfig: queueConfig(redisUrl, prefix), onEvent }),
      30_000,
      'run',
    );
    expect(result.status).toBe('SUCCESS');
    expect(result.output('inc_19')).toBe(4 + 20);
    const starts = events.filter((e) => e.type === 'STEP_START');
    expect(starts.map((e) => e.stepKey)).toEqual(['source', ...Array.from({ length: 20 }, (_, i) => `inc_${i}`)]);
    // The whole chain went as members of the first step's job: one worker ran it all.
    expect(new Set(starts.map((e) => e.workerId)).size).toBe(1);
  });

  it("loads a queue run's outputs after the run ended, and the process then exits on its own", async () => {
    spawnWorker({ redisUrl, prefix, name: 'l1' });
    await waitForWorkers(redisUrl, prefix, ['l1']);
    const result = await within(
      executePipeline(chain, { runConfig: queueConfig(redisUrl, prefix), loadOutputs: false }),
      30_000,
      'run',
    );
    expect(result.status).toBe('SUCCESS');
    expect(() => result.output('inc_19')).toThrow(/not loaded/);
    expect(await result.loadOutput('inc_19')).toBe(4 + 20);
    await result.loadOutputs();
    expect(result.output('inc_5')).toBe(4 + 6);
    // In a process of its own: the connection the load opened must close again, or the process would not end
    // (execFile's timeout kills it, and the test fails).
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx/esm', '--conditions=source', resolve(ROOT, 'test/fixtures/load-after-run.ts')],
      { cwd: ROOT, env: { ...process.env, REDIS_URL: redisUrl, STEPWISE_PREFIX: prefix }, timeout: 20_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ status: 'SUCCESS', value: 4 + 20 });
  }, 60_000);

  it('runs a chain of values too large to inline: each step reads the last one once its write reached Redis', async () => {
    spawnWorker({ redisUrl, prefix, name: 'b1' });
    await waitForWorkers(redisUrl, prefix, ['b1']);
    const { events, onEvent } = collector();
    const result = await within(
      executePipeline(bigChain, { runConfig: queueConfig(redisUrl, prefix), onEvent }),
      30_000,
      'run',
    );
    expect(result.status).toBe('SUCCESS');
    expect(result.output('grow_9')).toBe(`${'x'.repeat(20_000)}${'y'.repeat(10)}`);
    // One job ran the chain: its steps did not wait for the coordinator, only for their input's write.
    const starts = events.filter((e) => e.type === 'STEP_START');
    expect(new Set(starts.map((e) => e.workerId))).toEqual(new Set(['b1']));
    expect(starts).toHaveLength(11);
  });

  it('routes steps tagged queue: heavy only to the worker serving heavy', async () => {
    spawnWorker({ redisUrl, prefix, name: 'light-worker', queues: ['default'] });
    spawnWorker({ redisUrl, prefix, name: 'heavy-worker', queues: ['heavy'] });
    await waitForWorkers(redisUrl, prefix, ['light-worker', 'heavy-worker']);
    const { events, onEvent } = collector();
    const result = await within(
      executePipeline(routing, { runConfig: queueConfig(redisUrl, prefix), onEvent }),
      30_000,
      'run',
    );
    expect(result.status).toBe('SUCCESS');
    const starts = events.filter((e) => e.type === 'STEP_START');
    const heavy = starts.filter((e) => e.stepKey?.startsWith('heavy_'));
    expect(heavy).toHaveLength(4);
    for (const e of heavy) expect(e.workerId).toBe('heavy-worker');
    for (const e of starts.filter((s) => !s.stepKey?.startsWith('heavy_'))) expect(e.workerId).toBe('light-worker');
  });

  it('re-runs the step of a worker killed with SIGKILL on another worker, as attempt 2', async () => {
    const marker = join(tmp, 'attempts');
    const a = spawnWorker({ redisUrl, prefix, name: 'victim', concurrency: 1 });
    await waitForWorkers(redisUrl, prefix, ['victim']);
    const { events, onEvent } = collector();
    const pending = executePipeline(longStep, {
      runConfig: { ...queueConfig(redisUrl, prefix), ops: { long: { config: { ms: 3_000, marker } } } },
      onEvent: (e) => {
        onEvent(e);
        if (e.type === 'STEP_START' && e.stepKey === 'long' && e.attempt === 1) {
          a.proc.kill('SIGKILL');
          spawnWorker({ redisUrl, prefix, name: 'rescuer', concurrency: 1 });
        }
      },
    });
    const result = await within(pending, 40_000, 'the run to survive the kill');
    expect(result.status).toBe('SUCCESS');
    expect(result.steps.long?.attempts).toBe(2);
    expect(result.steps.long?.workerId).toBe('rescuer');
    expect(result.output('long')).toBe(2);
    const lost = events.find((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'worker_lost');
    expect(lost?.message).toMatch(/victim/);
    expect(readFileSync(marker, 'utf8').trim().split('\n')).toEqual(['victim 1', 'rescuer 2']);
    expect(await a.exited()).toBe('SIGKILL');
  });

  it('dead-letters a malformed job and a malformed stream entry; the run is unaffected', async () => {
    const w = spawnWorker({ redisUrl, prefix, name: 'sturdy', concurrency: 1 });
    await waitForWorkers(redisUrl, prefix, ['sturdy']);
    const keys = new RedisKeys(prefix);
    const redis = new Redis(redisUrl);
    const queue = new Queue('default', { connection: redis, prefix });
    try {
      await queue.add('garbage', { hello: 'world' });
      const { events, onEvent } = collector();
      const result = await within(
        executePipeline(longStep, {
          runConfig: { ...queueConfig(redisUrl, prefix), ops: { long: { config: { ms: 500 } } } },
          onEvent: (e) => {
            onEvent(e);
            if (e.type === 'STEP_START' && e.stepKey === 'long') {
              void redis.xadd(keys.runEvents(e.runId), '*', 'e', Buffer.from([0xc1, 0xff, 0x00]), 'i', 'evil:1');
              void redis.xadd(keys.runEvents(e.runId), '*', 'bogus', 'field');
            }
          },
        }),
        30_000,
        'run',
      );
      expect(result.status).toBe('SUCCESS');
      expect(events.filter((e) => e.type === 'STEP_SUCCESS')).toHaveLength(2);
      const dead = await waitUntil(
        async () => {
          const entries = await redis.xrange(keys.deadLetter, '-', '+');
          return entries.length >= 3 ? entries : undefined;
        },
        10_000,
        'three dead letters',
      );
      const reasons = dead.map(([, fields]) => fields[fields.indexOf('reason') + 1]);
      expect(reasons.some((r) => /malformed step job/.test(String(r)))).toBe(true);
      expect(reasons.filter((r) => /malformed event entry/.test(String(r)))).toHaveLength(2);
      expect(w.proc.exitCode).toBeNull();
      expect(w.output()).toMatch(/malformed job/);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });

  it('cancels a run from a second process: running steps see the abort, nothing new starts', async () => {
    const home = join(tmp, 'home');
    const instance = await Instance.fromConfig({}, { home });
    const marker = join(tmp, 'cancel');
    spawnWorker({ redisUrl, prefix, name: 'c1' });
    await waitForWorkers(redisUrl, prefix, ['c1']);
    const { events, onEvent } = collector();
    let runId = '';
    const pending = executePipeline(cancelable, {
      instance,
      runConfig: { ...queueConfig(redisUrl, prefix), ops: { wait_abort: { config: { marker } } } },
      onEvent: (e) => {
        runId = e.runId;
        onEvent(e);
      },
    });
    await waitUntil(() => existsSync(`${marker}.started`), 20_000, 'the step to start');
    await run(process.execPath, [CLI, 'cancel', runId], {
      env: { ...process.env, STEPWISE_HOME: home },
      timeout: 20_000,
    });
    const result = await within(pending, 20_000, 'the run to end');
    expect(result.status).toBe('CANCELED');
    expect(existsSync(`${marker}.aborted`)).toBe(true);
    expect(result.steps.wait_abort?.status).toBe('CANCELED');
    expect(result.steps.double?.status).toBe('NOT_STARTED');
    expect(events.some((e) => e.type === 'STEP_START' && e.stepKey === 'double')).toBe(false);
    expect((await instance.storage.getRun(runId))?.status).toBe('CANCELED');
    await instance.close();
  });

  it('drains on SIGTERM: the worker finishes its step and exits 0; the run succeeds', async () => {
    const a = spawnWorker({ redisUrl, prefix, name: 'drainer', concurrency: 1 });
    await waitForWorkers(redisUrl, prefix, ['drainer']);
    let b: ReturnType<typeof spawnWorker> | undefined;
    const { events, onEvent } = collector();
    const pending = executePipeline(longStep, {
      runConfig: { ...queueConfig(redisUrl, prefix), ops: { long: { config: { ms: 1_500 } } } },
      onEvent: (e) => {
        onEvent(e);
        if (e.type === 'STEP_START' && e.stepKey === 'long') {
          a.proc.kill('SIGTERM');
          b = spawnWorker({ redisUrl, prefix, name: 'successor', concurrency: 1 });
        }
      },
    });
    expect(await a.exited(20_000)).toBe(0);
    const result = await within(pending, 30_000, 'run');
    expect(result.status).toBe('SUCCESS');
    expect(result.steps.long?.workerId).toBe('drainer');
    expect(result.steps.long?.attempts).toBe(1);
    expect(result.steps.double?.workerId).toBe('successor');
    expect(b).toBeDefined();
    expect(events.filter((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'worker_lost')).toHaveLength(0);
  });

  it('serves Prometheus metrics whose counters move with the steps run', async () => {
    const w = spawnWorker({ redisUrl, prefix, name: 'metered', extraArgs: ['--metrics-port', '0'] });
    await waitForWorkers(redisUrl, prefix, ['metered']);
    const port = Number(
      await waitUntil(() => /"port":(\d+)/.exec(w.output())?.[1], 10_000, 'the metrics port in the worker log'),
    );
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const count = (text: string, op: string) =>
      Number(
        new RegExp(`stepwise_steps_finished_total\\{queue="default",op="${op}",status="SUCCESS"\\} (\\d+)`).exec(
          text,
        )?.[1] ?? 0,
      );
    expect(count(await scrape(), 'many')).toBe(0);
    const result = await within(executePipeline(wide, { runConfig: queueConfig(redisUrl, prefix) }), 30_000, 'run');
    expect(result.status).toBe('SUCCESS');
    const after = await scrape();
    expect(count(after, 'many')).toBe(30);
    expect(after).toMatch(/stepwise_step_duration_seconds_count\{queue="default",op="many"\} 30/);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
  });

  it('fails a run whose step waits in a queue no worker serves, naming the queue', async () => {
    spawnWorker({ redisUrl, prefix, name: 'other' });
    await waitForWorkers(redisUrl, prefix, ['other']);
    const { events, onEvent } = collector();
    const started = Date.now();
    const result = await within(
      executePipeline(unserved, {
        runConfig: queueConfig(redisUrl, prefix, { queueTimeoutMs: 2_000, noWorkerGraceMs: 300, watchIntervalMs: 100 }),
        onEvent,
      }),
      15_000,
      'the run to fail',
    );
    expect(result.status).toBe('FAILURE');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.steps.nowhere?.error?.message).toMatch(/queue 'nobody-serves-this'/);
    const warn = events.find((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'no_worker');
    expect(warn?.message).toMatch(/nobody-serves-this/);
    expect(result.steps.double?.status).toBe('NOT_STARTED');
  });

  it('fails the step whose resource throws on set-up in the worker, naming the cause', async () => {
    spawnWorker({ redisUrl, prefix, name: 'r1' });
    await waitForWorkers(redisUrl, prefix, ['r1']);
    const result = await within(
      executePipeline(resourceFails, { runConfig: queueConfig(redisUrl, prefix) }),
      20_000,
      'run',
    );
    expect(result.status).toBe('FAILURE');
    expect(result.steps.uses_broken?.status).toBe('FAILURE');
    expect(result.steps.uses_broken?.error?.message).toMatch(/resource 'db' failed to set up: database is down/);
    expect(result.steps.double?.status).toBe('NOT_STARTED');
  });

  it('fails the step whose input was deleted from the IO manager, naming the input', async () => {
    spawnWorker({ redisUrl, prefix, name: 'i1' });
    await waitForWorkers(redisUrl, prefix, ['i1']);
    const keys = new RedisKeys(prefix);
    const redis = new Redis(redisUrl);
    try {
      const result = await within(
        executePipeline(inputDeleted, {
          runConfig: { ...queueConfig(redisUrl, prefix), ops: { gate: { config: { ms: 800 } } } },
          onEvent: (e) => {
            if (e.type === 'STEP_SUCCESS' && e.stepKey === 'produce')
              void redis.del(keys.value(e.runId, 'produce', 'result'));
          },
        }),
        20_000,
        'run',
      );
      expect(result.status).toBe('FAILURE');
      expect(result.steps.consume?.status).toBe('FAILURE');
      expect(result.steps.consume?.error?.message).toMatch(/input 'produce\.result' .* could not be loaded/);
    } finally {
      redis.disconnect();
    }
  });

  it("takes the queue executor's defaults (Redis URL, prefix) from stepwise.yaml", async () => {
    spawnWorker({ redisUrl, prefix, name: 'defaults' });
    await waitForWorkers(redisUrl, prefix, ['defaults']);
    const instance = await Instance.fromConfig(
      { execution: { queue: { redisUrl, prefix } } },
      { home: join(tmp, 'home') },
    );
    try {
      const { events, onEvent } = collector();
      const result = await within(
        executePipeline(wide, { instance, runConfig: { execution: { queue: {} } }, onEvent }),
        30_000,
        'run',
      );
      expect(result.status).toBe('SUCCESS');
      expect(events.filter((e) => e.type === 'STEP_START').every((e) => e.workerId === 'defaults')).toBe(true);
    } finally {
      await instance.close();
    }
  });

  it('a worker running other code refuses the step with a version-skew error', async () => {
    spawnWorker({
      redisUrl,
      prefix,
      name: 'newer',
      file: FIXTURE.replace('queue-pipelines.ts', 'queue-pipelines-skewed.ts'),
    });
    await waitForWorkers(redisUrl, prefix, ['newer']);
    const result = await within(
      executePipeline(longStep, {
        runConfig: { ...queueConfig(redisUrl, prefix), ops: { long: { config: { ms: 1 } } } },
      }),
      20_000,
      'run',
    );
    expect(result.status).toBe('FAILURE');
    expect(result.steps.long?.error?.code).toBe('VERSION_SKEW');
    expect(result.steps.long?.error?.message).toMatch(/version skew: worker newer loaded pipeline 'long_step'/);
    expect(result.steps.double?.status).toBe('NOT_STARTED');
  });

  it('lists live workers with `stepwise workers --json`', async () => {
    spawnWorker({ redisUrl, prefix, name: 'listed', queues: ['default', 'heavy'] });
    await waitForWorkers(redisUrl, prefix, ['listed']);
    const { stdout } = await run(
      process.execPath,
      [CLI, 'workers', '--json', '--redis', redisUrl, '--prefix', prefix],
      {
        timeout: 15_000,
      },
    );
    const { workers } = JSON.parse(stdout) as { workers: Array<{ name: string; queues: string[] }> };
    expect(workers.map((w) => w.name)).toEqual(['listed']);
    expect(workers[0]?.queues).toEqual(['default', 'heavy']);
  });
});
