// The job processor on a real Redis, without a BullMQ worker around it: what the steps of one job share.
import { buildPlan, buildStepTask, encodeValue, op, pipeline, type StepTask, type StepwiseEvent } from '@stepwise/core';
import {
  decodeEventEntry,
  EventPublisher,
  encodeJobData,
  inlineKey,
  RedisIOManager,
  RedisKeys,
  type StepJobData,
  WIRE_VERSION,
} from '@stepwise/executor-queue';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { JobProcessor } from '../src/job-processor.js';

const redisUrl = inject('redisUrl');
const BIG = 'x'.repeat(20_000);

const pad = op({ name: 'pad', out: z.string(), compute: () => BIG });
const grow = op({ name: 'grow', ins: { s: z.string() }, out: z.string(), compute: (_c, { s }) => `${s}y` });
const bigChain = pipeline({
  name: 'bigChainUnit',
  build: () => {
    let value = pad();
    for (let i = 0; i < 5; i++) value = grow.as(`grow_${i}`)({ s: value });
  },
});

let redis: Redis;
let data: Redis;
const keys = new RedisKeys(`jp${process.pid}`);

beforeAll(async () => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // Not auto-pipelined (the worker's is): a read is then written at once, ahead of any pipeline still to be sent,
  // so a step that did not wait for its input's write would read nothing.
  data = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // Connected before the first test, whose leak check would otherwise count these file-wide sockets as its own.
  await Promise.all([redis.ping(), data.ping()]);
});

afterAll(async () => {
  const found = await redis.keys(`${keys.prefix}:*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
  data.disconnect();
});

function processorFor(
  definitions: ReturnType<typeof pipeline>,
  publisher: EventPublisher,
  now?: () => number,
): JobProcessor {
  return new JobProcessor({
    now,
    definitions: {
      file: 'test',
      source: 'test',
      pipelines: new Map([[definitions.name, definitions]]),
      schedules: new Map(),
    },
    redis,
    data,
    keys,
    publisher,
    workerId: 'unit',
    logger: pino({ level: 'silent' }),
  });
}

async function eventsOf(runId: string): Promise<StepwiseEvent[]> {
  const entries = await redis.xrangeBuffer(keys.runEvents(runId), '-', '+');
  return entries.flatMap(([, fields]) => decodeEventEntry(fields).events);
}

const twice = op({ name: 'twice', ins: { x: z.number() }, out: z.number(), compute: (_c, { x }) => x * 2 });
const one = op({ name: 'one', out: z.number(), compute: () => 1 });
const reads = pipeline({ name: 'readsInline', build: () => void twice({ x: one() }) });
const ones = pipeline({
  name: 'peersUnit',
  build: () => {
    for (let i = 0; i < 6; i++) one.as(`one_${i}`)();
  },
});

describe('JobProcessor', () => {
  it('reads an input from the job (inline, keyed as inlineKey says) without going to Redis', async () => {
    const runId = `run-inline-${Date.now()}`;
    const plan = buildPlan(reads, {});
    const ref = { runId, step: 'one', output: 'result' };
    const step = plan.steps.find((s) => s.key === 'twice');
    if (!step) throw new Error('no step twice');
    const job: StepJobData = {
      v: WIRE_VERSION,
      runId,
      pipeline: reads.name,
      fingerprint: plan.fingerprint,
      attempt: 1,
      task: {
        runId,
        key: 'twice',
        planKey: 'twice',
        op: 'twice',
        inputs: { x: { from: 'one', ref } },
        outputs: step.outputs,
        config: null,
        tags: {},
      },
      resources: {},
      io: { kind: 'redis' },
      // 21 is in the job only: Redis holds no value for 'one'.
      inline: { [inlineKey(ref)]: encodeValue(21).toString('base64') },
    };
    await processorFor(reads, new EventPublisher(data, keys)).process(
      { id: 'job-inline', data: encodeJobData(job), stalledCounter: 0 } as unknown as Job,
      'default',
    );
    const events = await eventsOf(runId);
    expect(events.filter((e) => e.type === 'STEP_FAILURE').map((e) => e.message)).toEqual([]);
    const io = new RedisIOManager(redis, { prefix: keys.prefix });
    expect(await io.load({ runId, step: 'twice', output: 'result' })).toBe(42);
  });

  it('runs a chain whose values are too large to inline, each step reading the last once its write is in Redis', async () => {
    const runId = `run-${Date.now()}`;
    const plan = buildPlan(bigChain, {});
    const tasks: StepTask[] = plan.steps.map((step) => ({
      runId,
      key: step.key,
      planKey: step.key,
      op: step.op,
      inputs: Object.fromEntries(
        Object.entries(step.inputs).map(([name, input]) => [
          name,
          input.from === 'step'
            ? { from: 'one' as const, ref: { runId, step: input.step, output: input.output } }
            : { from: 'config' as const, value: null },
        ]),
      ),
      outputs: step.outputs,
      config: step.config,
      tags: step.tags,
    }));
    const [lead, ...chain] = tasks as [StepTask, ...StepTask[]];
    const job: StepJobData = {
      v: WIRE_VERSION,
      runId,
      pipeline: bigChain.name,
      fingerprint: plan.fingerprint,
      attempt: 1,
      task: lead,
      resources: {},
      io: { kind: 'redis' },
      chain,
    };
    // The lock check answers at once: nothing else gives the previous step's write time to reach Redis.
    await processorFor(bigChain, new EventPublisher(data, keys)).process(
      { id: 'job-1', data: encodeJobData(job), stalledCounter: 0 } as unknown as Job,
      'default',
    );
    const events = await eventsOf(runId);
    const failures = events.filter((e) => e.type === 'STEP_FAILURE');
    expect(failures.map((e) => e.message)).toEqual([]);
    expect(events.filter((e) => e.type === 'STEP_SUCCESS').map((e) => e.stepKey)).toEqual(tasks.map((t) => t.key));
    const io = new RedisIOManager(redis, { prefix: keys.prefix });
    expect(await io.load({ runId, step: 'grow_4', output: 'result' })).toBe(`${BIG}yyyyy`);
  });

  it("stops a job's peers once its lock is lost, checked at most every second by the processor's clock", async () => {
    const runId = `run-peers-${Date.now()}`;
    const plan = buildPlan(ones, {});
    const tasks = plan.steps.map((step) => buildStepTask(runId, step, {}));
    const [lead, ...peers] = tasks as [StepTask, ...StepTask[]];
    const job: StepJobData = {
      v: WIRE_VERSION,
      runId,
      pipeline: ones.name,
      fingerprint: plan.fingerprint,
      attempt: 1,
      task: lead,
      resources: {},
      io: { kind: 'redis' },
      peers,
    };
    // Each reading of the clock moves it by 600 ms: it is read when a step starts and before each peer. The lock
    // is then checked before the second peer (1,200 ms after the first check point) and found lost.
    let clock = 0;
    let checks = 0;
    const processor = processorFor(ones, new EventPublisher(data, keys), () => (clock += 600));
    const owns = async () => {
      checks++;
      return false;
    };
    await processor.process(
      { id: 'job-peers', data: encodeJobData(job), stalledCounter: 0 } as unknown as Job,
      'default',
      owns,
    );
    const events = await eventsOf(runId);
    const ran = events.filter((e) => e.type === 'STEP_SUCCESS' || e.type === 'STEP_FAILURE').map((e) => e.stepKey);
    expect(checks).toBe(1);
    expect(ran).toEqual(['one_0', 'one_1']);
    expect(processor.running.size).toBe(0);
  });
});
