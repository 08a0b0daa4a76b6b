// The queue watchdog on a real Redis and real BullMQ queues, on a clock the test moves: what no event reports.
import type { SerializedError, StepTask } from '@stepwise/core';
import { deletePrefix, uniquePrefix } from '@stepwise/testing';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { Dispatcher, jobIdOf } from '../src/dispatch.js';
import { type InFlight, InFlightSteps } from '../src/in-flight.js';
import { RedisKeys } from '../src/keys.js';
import { Watchdog } from '../src/watchdog.js';
import { WIRE_VERSION } from '../src/wire.js';
import { WorkerSlots } from '../src/worker-slots.js';

const redisUrl = inject('redisUrl');
const RUN = 'run-watch';
const LOCK_MS = 1_000;

const task = (key: string): StepTask => ({
  runId: RUN,
  key,
  planKey: key,
  op: 'op',
  inputs: {},
  outputs: [{ name: 'result', optional: false, dynamic: false }],
  config: {},
  tags: {},
});

let prefix: string;
let commands: Redis;
let connection: Redis;
let dispatcher: Dispatcher;
let clock: number;
let failures: Array<{ stepKey: string; error: SerializedError }>;
let engineEvents: Array<{ kind: string; stepKey: string }>;
let relaunched: string[];
let inFlight: InFlightSteps;

function watchdog(options: { queueTimeoutMs?: number; noWorkerGraceMs?: number } = {}): Watchdog {
  const now = () => clock;
  const keys = new RedisKeys(prefix);
  return new Watchdog({
    inFlight,
    options: {
      lockDurationMs: LOCK_MS,
      watchIntervalMs: 60_000,
      queueTimeoutMs: options.queueTimeoutMs ?? 0,
      noWorkerGraceMs: options.noWorkerGraceMs ?? 60_000,
    },
    dispatcher,
    slots: new WorkerSlots(commands, keys, new Set(['q']), now),
    now,
    logger: pino({ level: 'silent' }),
    relaunch: (f) => relaunched.push(f.task.key),
    failStep: (stepKey, _attempt, error) => {
      inFlight.delete(stepKey);
      failures.push({ stepKey, error });
    },
    engineEvent: (kind, _message, _details, stepKey) => engineEvents.push({ kind, stepKey }),
  });
}

function entry(key: string, fields: Partial<InFlight> = {}): InFlight {
  return {
    task: task(key),
    queue: 'q',
    jobId: jobIdOf(RUN, key, 1),
    attempt: 1,
    enqueuedAt: clock,
    lastEventAt: clock,
    ...fields,
  };
}

beforeEach(() => {
  prefix = uniquePrefix();
  commands = new Redis(redisUrl, { maxRetriesPerRequest: null });
  connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  clock = 1_000_000;
  failures = [];
  engineEvents = [];
  relaunched = [];
  inFlight = new InFlightSteps();
  dispatcher = new Dispatcher({
    connection,
    prefix,
    logger: pino({ level: 'silent' }),
    bundle: (_queue, jobs) => jobs,
    onAddFailed: (_jobs, error) => {
      throw error;
    },
  });
});

afterEach(async () => {
  await dispatcher.close();
  await deletePrefix(redisUrl, prefix);
  commands.disconnect();
  connection.disconnect();
});

describe('Watchdog', () => {
  it('fails a started step silent for three lock durations whose job is gone, not sooner', async () => {
    const gone = entry('gone', { startedAt: clock });
    inFlight.set(gone);
    const check = watchdog();
    clock += 3 * LOCK_MS - 1;
    await check.check();
    expect(failures).toEqual([]);
    clock += 1;
    await check.check();
    expect(engineEvents).toEqual([{ kind: 'step_lost', stepKey: 'gone' }]);
    expect(failures.map((f) => [f.stepKey, f.error.code, f.error.name])).toEqual([
      ['gone', 'STEP_LOST', 'StepLostError'],
    ]);
    expect(failures[0]?.error.message).toMatch(/gone from Redis/);
  });

  it('times out a step no worker took: removes its job, fails it and the members of that job', async () => {
    const peer = task('peer');
    dispatcher.submit({
      queue: 'q',
      delayMs: 0,
      data: {
        v: WIRE_VERSION,
        runId: RUN,
        pipeline: 'p',
        fingerprint: 'f',
        attempt: 1,
        task: task('lead'),
        resources: {},
        io: { kind: 'redis' },
        peers: [peer],
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    await dispatcher.flushing();
    const jobId = jobIdOf(RUN, 'lead', 1);
    expect((await dispatcher.stillThere('q', jobId)).state).toBe('waiting');
    inFlight.set(entry('lead'));
    inFlight.set(entry('peer', { jobId, member: true }));
    const check = watchdog({ queueTimeoutMs: 5_000, noWorkerGraceMs: 2_000 });
    clock += 2_000;
    await check.check();
    // No live worker serves 'q': a warning once the grace is over, no failure before the timeout.
    expect(engineEvents).toEqual([{ kind: 'no_worker', stepKey: 'lead' }]);
    expect(failures).toEqual([]);
    clock += 3_000;
    await check.check();
    expect(failures.map((f) => [f.stepKey, f.error.code])).toEqual([
      ['lead', 'QUEUE_TIMEOUT'],
      ['peer', 'QUEUE_TIMEOUT'],
    ]);
    expect((await dispatcher.stillThere('q', jobId)).state).toBe('unknown');
  });

  it("relaunches a member whose lead's job ended without running it", async () => {
    inFlight.set(entry('member', { jobId: jobIdOf(RUN, 'ended-lead', 1), member: true }));
    const check = watchdog();
    clock += 3 * LOCK_MS;
    await check.check();
    expect(relaunched).toEqual(['member']);
    expect(failures).toEqual([]);
  });
});
