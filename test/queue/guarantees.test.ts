// One test per sentence of docs/GUARANTEES.md that the other fault tests do not already prove.
import { encodeValue, executePipeline, Instance, makeEvent, type StepwiseEvent, staleOriginal } from '@stepwise/core';
import { EventPublisher, RedisIOManager, RedisKeys } from '@stepwise/executor-queue';
import { deletePrefix, killAllWorkers, uniquePrefix, waitForWorkers, within } from '@stepwise/testing';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { longStep } from '../fixtures/queue-pipelines.js';
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

/** Step events that must be stored once per (step, attempt). */
const once = (events: StepwiseEvent[], type: StepwiseEvent['type'], stepKey: string, attempt: number) =>
  events.filter((e) => e.type === type && e.stepKey === stepKey && e.attempt === attempt).length;

describe('guarantees', () => {
  it('records each step event once, even when the stream holds copies of its entries', async () => {
    spawnWorker({ redisUrl, prefix, name: 'g1' });
    await waitForWorkers(redisUrl, prefix, ['g1']);
    const redis = new Redis(redisUrl);
    const keys = new RedisKeys(prefix);
    const instance = Instance.ephemeral();
    let copied: Promise<unknown> | undefined;
    try {
      const result = await within(
        executePipeline(longStep, {
          instance,
          runConfig: { ...queueConfig(redisUrl, prefix), ops: { long: { config: { ms: 1_000 } } } },
          onEvent: (e) => {
            if (e.type === 'STEP_START' && e.stepKey === 'long' && !copied) {
              // A retried XADD leaves a second copy of an entry: add copies of every entry so far.
              copied = redis
                .xrangeBuffer(keys.runEvents(e.runId), '-', '+')
                .then((entries) =>
                  Promise.all(entries.map(([, fields]) => redis.xadd(keys.runEvents(e.runId), '*', ...fields))),
                );
            }
          },
        }),
        30_000,
        'run',
      );
      expect(await copied).not.toHaveLength(0);
      expect(result.status).toBe('SUCCESS');
      const events = await instance.storage.getEvents(result.runId);
      expect(once(events, 'STEP_START', 'long', 1)).toBe(1);
      expect(
        events
          .filter((e) => e.type === 'STEP_SUCCESS')
          .map((e) => e.stepKey)
          .sort(),
      ).toEqual(['double', 'long']);
    } finally {
      redis.disconnect();
    }
  });

  it('a stale attempt (a frozen worker that comes back) is recorded but never changes the step', async () => {
    const a = spawnWorker({ redisUrl, prefix, name: 'frozen', concurrency: 1, lockDurationMs: 1_000 });
    await waitForWorkers(redisUrl, prefix, ['frozen']);
    const instance = Instance.ephemeral();
    let thawed = false;
    const result = await within(
      executePipeline(longStep, {
        instance,
        runConfig: { ...queueConfig(redisUrl, prefix), ops: { long: { config: { ms: 2_500 } } } },
        onEvent: (e) => {
          if (e.type === 'STEP_START' && e.stepKey === 'long' && e.attempt === 1) {
            a.proc.kill('SIGSTOP');
            spawnWorker({ redisUrl, prefix, name: 'replacement', concurrency: 1, lockDurationMs: 1_000 });
          }
          if (e.type === 'STEP_START' && e.stepKey === 'long' && e.attempt === 2 && !thawed) {
            thawed = true;
            a.proc.kill('SIGCONT');
          }
        },
      }),
      40_000,
      'run',
    );
    expect(thawed).toBe(true);
    expect(result.status).toBe('SUCCESS');
    expect(result.steps.long?.attempts).toBe(2);
    expect(result.steps.long?.workerId).toBe('replacement');
    expect(result.output('long')).toBe(2);
    expect(result.output('double')).toBe(4);
    const events = await instance.storage.getEvents(result.runId);
    // The frozen attempt's success is recorded as what it is, a stale event: the log holds one STEP_SUCCESS.
    const stale = events.filter((e) => e.stepKey === 'long' && staleOriginal(e)?.type === 'STEP_SUCCESS');
    expect(stale.map((e) => [e.workerId, staleOriginal(e)?.attempt])).toEqual([['frozen', 1]]);
    expect(events.filter((e) => e.stepKey === 'long' && e.type === 'STEP_SUCCESS').map((e) => e.attempt)).toEqual([2]);
  });

  it("the Redis IO manager keeps the newest attempt's value when an older attempt writes after it", async () => {
    const redis = new Redis(redisUrl);
    try {
      const io = new RedisIOManager(redis, { prefix });
      const ref = { runId: 'r1', step: 's', output: 'result' };
      await io.store(ref, 'attempt 2', { attempt: 2 });
      await io.store(ref, 'attempt 1, late', { attempt: 1 });
      expect(await io.load(ref)).toBe('attempt 2');
      await io.store(ref, 'attempt 3', { attempt: 3 });
      expect(await io.load(ref)).toBe('attempt 3');
      // Several values in one command (how a worker sends a turn's values): each is checked on its own.
      const other = { runId: 'r1', step: 't', output: 'result' };
      const pipeline = redis.pipeline();
      io.storeAllCommand([
        { ref, bytes: encodeValue('attempt 2, late again'), attempt: 2 },
        { ref: other, bytes: encodeValue('t, attempt 1'), attempt: 1 },
      ])(pipeline);
      await pipeline.exec();
      expect(await io.load(ref)).toBe('attempt 3');
      expect(await io.load(other)).toBe('t, attempt 1');
    } finally {
      redis.disconnect();
    }
  });

  it('a step output reaches Redis before the events that announce it, even behind a busy auto-pipeline', async () => {
    // Workers send values and events on one auto-pipelined connection. ioredis holds auto-pipelined commands
    // while an earlier auto-pipeline awaits its reply, so a SET sent on its own could be overtaken by the events.
    const keys = new RedisKeys(prefix);
    const data = new Redis(redisUrl, { enableAutoPipelining: true });
    const monitorClient = new Redis(redisUrl);
    const monitor = await monitorClient.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      const command = String(args[0]).toLowerCase();
      if (command === 'eval' || command === 'xadd') seen.push(command);
    });
    try {
      const io = new RedisIOManager(data, { prefix });
      const publisher = new EventPublisher(data, keys);
      const runId = 'order';
      // Keeps the connection's auto-pipeline busy (awaiting a reply) for 300 ms.
      const busy = data.blpop(`${prefix}:nothing`, 0.3);
      await new Promise((resolve) => setTimeout(resolve, 20));
      // As the worker stores an output: the SET rides in the publisher's pipeline, ahead of the events.
      const stored = publisher.publishWrite(
        io.storeCommand({ runId, step: 's', output: 'result' }, encodeValue('value'), 1),
      );
      publisher.publish(makeEvent('STEP_SUCCESS', runId, { durationMs: 1 }, { stepKey: 's', attempt: 1 }));
      await within(Promise.all([busy, stored, publisher.flush()]), 5_000, 'value and event');
      await within(
        (async () => {
          while (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
        })(),
        5_000,
        'MONITOR lines',
      );
      expect(seen).toEqual(['eval', 'xadd']);
    } finally {
      monitor.disconnect();
      monitorClient.disconnect();
      data.disconnect();
    }
  });
});
