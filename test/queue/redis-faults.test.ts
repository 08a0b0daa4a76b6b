import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executePipeline, Instance, type StepwiseEvent } from '@stepwise/core';
import {
  killAllWorkers,
  type RedisServer,
  startRedisServer,
  uniquePrefix,
  waitForWorkers,
  within,
} from '@stepwise/testing';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { diamondDynamic, longStep, napping } from '../fixtures/queue-pipelines.js';
import { queueConfig, spawnWorker } from './harness.js';

let server: RedisServer | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await killAllWorkers();
  await server?.stop();
  server = undefined;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Events that must appear once per step attempt. */
function stepEventKey(e: StepwiseEvent): string | undefined {
  if (e.type === 'LOG' || e.type === 'ENGINE_EVENT' || e.stepKey === undefined) return undefined;
  const extra =
    e.type === 'STEP_OUTPUT'
      ? `${e.data.output}[${e.data.mappingKey ?? ''}]`
      : e.type === 'STEP_INPUT'
        ? e.data.input
        : '';
  return `${e.type}|${e.stepKey}|${e.attempt}|${extra}`;
}

describe('Redis faults', () => {
  it('FLUSHDB mid-run ends the run within a bounded time, with step_lost for every step whose job vanished', async () => {
    server = await startRedisServer({ appendonly: false });
    const redisUrl = server.url;
    const prefix = uniquePrefix();
    spawnWorker({ redisUrl, prefix, name: 'flushed', lockDurationMs: 1_000, concurrency: 2 });
    await waitForWorkers(redisUrl, prefix, ['flushed']);
    const events: StepwiseEvent[] = [];
    const admin = new Redis(redisUrl);
    let flushed: Promise<unknown> | undefined;
    try {
      const result = await within(
        executePipeline(napping, {
          runConfig: queueConfig(redisUrl, prefix, { lockDurationMs: 1_000, watchIntervalMs: 200 }),
          onEvent: (e) => {
            events.push(e);
            if (e.type === 'STEP_START' && !flushed)
              flushed = new Promise((r) => setTimeout(r, 500)).then(() => admin.flushdb());
          },
        }),
        // The queue timeout (5 minutes) must not be what ends it.
        40_000,
        'the run to end after FLUSHDB',
      );
      await flushed;
      expect(result.status).toBe('FAILURE');
      const lost = new Set(
        events.filter((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'step_lost').map((e) => e.stepKey),
      );
      const started = new Set(events.filter((e) => e.type === 'STEP_START').map((e) => e.stepKey));
      const notRun = Object.keys(result.steps).filter((k) => !started.has(k));
      expect(notRun.length).toBeGreaterThan(0);
      for (const key of notRun) {
        expect(lost.has(key), `step_lost for '${key}'`).toBe(true);
        expect(result.steps[key]?.status).toBe('FAILURE');
        expect(result.steps[key]?.error?.message).toMatch(/is gone from Redis/);
      }
    } finally {
      admin.disconnect();
    }
  }, 60_000);

  it('survives a Redis restart mid-run (AOF on): the run completes and no event is stored twice', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'stepwise-redis-'));
    server = await startRedisServer({ appendonly: true, dir: tmp });
    const redisUrl = server.url;
    const prefix = uniquePrefix();
    spawnWorker({ redisUrl, prefix, name: 'survivor', lockDurationMs: 10_000 });
    await waitForWorkers(redisUrl, prefix, ['survivor']);
    const instance = Instance.ephemeral();
    let restarted: Promise<void> | undefined;
    const result = await within(
      executePipeline(longStep, {
        instance,
        runConfig: {
          ...queueConfig(redisUrl, prefix, { lockDurationMs: 10_000 }),
          ops: { long: { config: { ms: 2_000 } } },
        },
        onEvent: (e) => {
          if (e.type === 'STEP_START' && e.stepKey === 'long' && !restarted) restarted = server?.restart();
        },
      }),
      40_000,
      'the run across the Redis restart',
    );
    await restarted;
    expect(result.status).toBe('SUCCESS');
    expect(result.output('double')).toBe(2);
    const events = await instance.storage.getEvents(result.runId);
    const seen = new Set<string>();
    for (const e of events) {
      const key = stepEventKey(e);
      if (key === undefined) continue;
      expect(seen.has(key), `stored twice: ${key}`).toBe(false);
      seen.add(key);
    }
    expect(events.filter((e) => e.type === 'STEP_SUCCESS')).toHaveLength(2);

    // And the deployment goes on working after the restart.
    const again = await within(
      executePipeline(diamondDynamic, { runConfig: queueConfig(redisUrl, prefix) }),
      30_000,
      'a second run',
    );
    expect(again.status).toBe('SUCCESS');
  });

  it('fails with a clear engine event, never hangs, when Redis restarts without its data', async () => {
    server = await startRedisServer({ appendonly: false });
    const redisUrl = server.url;
    const prefix = uniquePrefix();
    spawnWorker({ redisUrl, prefix, name: 'amnesiac', lockDurationMs: 1_000 });
    await waitForWorkers(redisUrl, prefix, ['amnesiac']);
    const events: StepwiseEvent[] = [];
    let restarted: Promise<void> | undefined;
    const result = await within(
      executePipeline(longStep, {
        runConfig: {
          ...queueConfig(redisUrl, prefix, { lockDurationMs: 1_000, watchIntervalMs: 200 }),
          ops: { long: { config: { ms: 1_500 } } },
        },
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'STEP_START' && e.stepKey === 'long' && !restarted)
            restarted = server?.kill('SIGKILL').then(() => server?.restart());
        },
      }),
      40_000,
      'the run to end after Redis lost its data',
    );
    await restarted;
    // Either the step's events made it (the worker re-sent them after reconnecting) or the loss is reported.
    if (result.status !== 'SUCCESS') {
      expect(result.status).toBe('FAILURE');
      const lost = events.find((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'step_lost');
      expect(lost?.message).toMatch(/gone from Redis|without reporting/);
    }
  });
});
