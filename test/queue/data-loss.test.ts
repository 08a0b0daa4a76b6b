// Redis loses its data mid-run (FLUSHDB on the run's own redis-server, two real workers): the watchdog finds the
// steps whose jobs vanished from Redis itself, within a bounded time; each ends with step_lost and then a retry
// (per its policy) or a STEP_FAILURE; the late events of an attempt declared lost are recorded as stale and never
// applied, so the stored log never says that a step both failed and succeeded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  executePipeline,
  FsIOManager,
  Instance,
  MemoryRunStorage,
  type PipelineDefinition,
  type RunResult,
  STALE_EVENT,
  type StepwiseEvent,
} from '@stepwise/core';
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
import { longAndShortNaps, nappingRetried } from '../fixtures/queue-pipelines.js';
import { queueConfig, spawnWorker } from './harness.js';

let server: RedisServer | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await killAllWorkers();
  await server?.stop();
  server = undefined;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** Runs `pipeline` on two workers of 2 slots and flushes the run's Redis 1 s after its first STEP_START. */
async function runAndFlush(
  pipeline: PipelineDefinition,
  instance: Instance,
  queue: Record<string, unknown>,
  ops: Record<string, unknown> = {},
): Promise<{ result: RunResult; stored: StepwiseEvent[] }> {
  server = await startRedisServer({ appendonly: false });
  const redisUrl = server.url;
  const prefix = uniquePrefix();
  const names = ['amnesia1', 'amnesia2'];
  for (const name of names) spawnWorker({ redisUrl, prefix, name, lockDurationMs: 1_000, concurrency: 2 });
  await waitForWorkers(redisUrl, prefix, names);
  const admin = new Redis(redisUrl);
  let flushed: Promise<unknown> | undefined;
  try {
    const result = await within(
      executePipeline(pipeline, {
        instance,
        runConfig: { ...queueConfig(redisUrl, prefix, { watchIntervalMs: 200, ...queue }), ops },
        onEvent: (e) => {
          if (e.type === 'STEP_START' && !flushed) {
            flushed = new Promise((r) => setTimeout(r, 1_000)).then(() => admin.flushdb());
          }
        },
      }),
      // The queue timeout (5 minutes) must not be what ends it.
      60_000,
      'the run to end after FLUSHDB',
    );
    expect(flushed, 'a step started').toBeDefined();
    await flushed;
    return { result, stored: await instance.storage.getEvents(result.runId) };
  } finally {
    admin.disconnect();
  }
}

/** The stored log says one thing per step attempt: at most one outcome, and at most one STEP_SUCCESS per step. */
function expectConsistent(stored: StepwiseEvent[]): void {
  const outcomes = new Map<string, string[]>();
  const successes = new Map<string, number>();
  for (const e of stored) {
    if (e.stepKey === undefined) continue;
    if (e.type === 'STEP_SUCCESS' || e.type === 'STEP_FAILURE' || e.type === 'STEP_UP_FOR_RETRY') {
      const key = `${e.stepKey}#${e.attempt}`;
      outcomes.set(key, [...(outcomes.get(key) ?? []), e.type]);
    }
    if (e.type === 'STEP_SUCCESS') successes.set(e.stepKey, (successes.get(e.stepKey) ?? 0) + 1);
  }
  for (const [key, types] of outcomes) expect(types, `outcomes of ${key}`).toHaveLength(1);
  for (const [key, n] of successes) expect(n, `stored STEP_SUCCESS of ${key}`).toBe(1);
}

const stepLost = (stored: StepwiseEvent[]) =>
  stored.filter((e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'step_lost');

/** The stale events stored for `stepKey`: the type and attempt of each. */
function staleOf(stored: StepwiseEvent[], stepKey: string): string[] {
  return stored
    .filter((e) => e.type === 'ENGINE_EVENT' && e.data.kind === STALE_EVENT && e.stepKey === stepKey)
    .map((e) => {
      const carried = (e.data as { details?: { event?: { type: string; attempt: number } } }).details?.event;
      return `${carried?.type}#${carried?.attempt}`;
    });
}

const startedAttempt1 = (stored: StepwiseEvent[]) =>
  new Set(stored.filter((e) => e.type === 'STEP_START' && e.attempt === 1).map((e) => e.stepKey as string));

describe('Redis loses its data mid-run (FLUSHDB)', () => {
  it('lost steps are retried per their policy; the lost attempts late successes are stale, never applied', async () => {
    const instance = Instance.ephemeral();
    const { result, stored } = await runAndFlush(nappingRetried, instance, {});
    expect(result.status).toBe('SUCCESS');
    const lost = new Set(stepLost(stored).map((e) => e.stepKey));
    for (let i = 0; i < 6; i++) {
      const key = `rnap${i}`;
      expect(lost.has(key), `step_lost for '${key}'`).toBe(true);
      expect(result.steps[key]?.attempts).toBe(2);
      expect(result.output(key)).toBe(5_000);
      const retried = stored.filter((e) => e.type === 'STEP_UP_FOR_RETRY' && e.stepKey === key);
      expect(retried.map((e) => e.attempt)).toEqual([1]);
      const success = stored.filter((e) => e.type === 'STEP_SUCCESS' && e.stepKey === key);
      expect(success.map((e) => e.attempt)).toEqual([2]);
    }
    // The attempts that were running when Redis lost its data went on and reported: recorded as stale.
    const running = startedAttempt1(stored);
    expect(running.size).toBeGreaterThan(0);
    for (const key of running) expect(staleOf(stored, key), `stale events of '${key}'`).toContain('STEP_SUCCESS#1');
    expectConsistent(stored);
  }, 90_000);

  it('without retries the run fails in a bounded time with step_lost for every affected step, never contradicting itself', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'stepwise-data-loss-'));
    // fs IO: the outputs outlive Redis, so the steps dispatched after the loss can run.
    const instance = new Instance({ storage: new MemoryRunStorage(), io: new FsIOManager(tmp) });
    const ops: Record<string, unknown> = {};
    for (let i = 0; i < 4; i++) ops[`long${i}`] = { config: { ms: 6_000 } };
    for (let i = 0; i < 12; i++) ops[`short${i}`] = { config: { ms: 500 } };
    // Six in flight at once: the long steps and two short ones are dispatched before the loss, the rest after.
    const { result, stored } = await runAndFlush(longAndShortNaps, instance, { maxStepsInFlight: 6 }, ops);
    expect(result.status).toBe('FAILURE');
    expectConsistent(stored);
    const lost = stepLost(stored);
    const lostKeys = new Set(lost.map((e) => e.stepKey));
    for (const [key, step] of Object.entries(result.steps)) {
      // Every step ends: succeeded (dispatched after the loss) or lost, failed, with step_lost.
      if (step.status === 'SUCCESS') continue;
      expect(step.status, key).toBe('FAILURE');
      expect(lostKeys.has(key), `step_lost for '${key}'`).toBe(true);
      expect(step.error?.message).toMatch(/is gone from Redis/);
    }
    for (let i = 0; i < 4; i++) expect(result.steps[`long${i}`]?.status).toBe('FAILURE');
    expect(Object.values(result.steps).filter((s) => s.status === 'SUCCESS').length).toBeGreaterThan(0);
    // The long steps went on running on their workers and reported success after being declared lost.
    const running = startedAttempt1(stored);
    for (let i = 0; i < 4; i++) {
      const key = `long${i}`;
      expect(running.has(key), `'${key}' started before the loss`).toBe(true);
      expect(staleOf(stored, key), `stale events of '${key}'`).toContain('STEP_SUCCESS#1');
    }
  }, 90_000);
});
