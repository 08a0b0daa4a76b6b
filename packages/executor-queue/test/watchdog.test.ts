// The queue watchdog on a real Redis and real BullMQ queues, on a clock the test moves: what no event reports.
import type { SerializedError, StepTask } from '@stepwise/core';
import { deletePrefix, uniquePrefix } from '@stepwise/testing';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { Dispatcher, jobIdOf } from '../src/dispatch.js';
import { type InFlight, InFlightSteps } from '../src/in-flight.js';
import { RedisKeys } from '../src/keys.js';
import { LostJobs } from '../src/lost-jobs.js';
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
let lost: Array<{ stepKey: string; vanished: boolean }>;
let inFlight: InFlightSteps;
let position: string;

function lostJobs(): LostJobs {
  return new LostJobs({
    inFlight,
    redis: commands,
    keys: new RedisKeys(prefix),
    runId: RUN,
    jobKey: (queue, jobId) => dispatcher.jobKey(queue, jobId),
    position: () => position,
    everyMs: LOCK_MS,
    lose: (f, vanished) => {
      inFlight.delete(f.task.key);
      lost.push({ stepKey: f.task.key, vanished });
    },
    relaunch: (f) => {
      inFlight.delete(f.task.key);
      relaunched.push(f.task.key);
    },
  });
}

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
    lostJobs: lostJobs(),
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
  lost = [];
  position = '0';
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
});

/** Adds the job of `key` (attempt 1) to queue 'q', as the coordinator would. */
async function addJob(key: string): Promise<void> {
  dispatcher.submit({
    queue: 'q',
    delayMs: 0,
    data: {
      v: WIRE_VERSION,
      runId: RUN,
      pipeline: 'p',
      fingerprint: 'f',
      attempt: 1,
      task: task(key),
      resources: {},
      io: { kind: 'redis' },
    },
  });
  await new Promise((resolve) => setImmediate(resolve));
  await dispatcher.flushing();
}

describe('LostJobs', () => {
  it('a step whose job is gone is lost once its check is due and the stream is read to where it ended', async () => {
    const check = lostJobs();
    await check.mark();
    await addJob('there');
    inFlight.set(entry('gone', { startedAt: clock, checkedAt: clock }));
    inFlight.set(entry('there', { checkedAt: clock }));
    // Not checked yet: its add has not returned.
    inFlight.set(entry('adding'));
    const last = String(await commands.xadd(new RedisKeys(prefix).runEvents(RUN), '*', 'e', 'x'));
    clock += LOCK_MS - 1;
    await check.check(clock);
    expect(lost).toEqual([]);
    clock += 1;
    // Its job is missing, but its events may be on the stream the coordinator has not read yet.
    await check.check(clock);
    expect(lost).toEqual([]);
    position = last;
    await check.check(clock);
    expect(lost).toEqual([{ stepKey: 'gone', vanished: false }]);
    expect([...inFlight.values()].map((f) => f.task.key).sort()).toEqual(['adding', 'there']);
  });

  it("checks every job at once when the run's watch mark is gone (Redis lost its data)", async () => {
    const check = lostJobs();
    await check.mark();
    inFlight.set(entry('running', { startedAt: clock, checkedAt: clock }));
    inFlight.set(entry('waiting', { checkedAt: clock }));
    inFlight.set(entry('member', { jobId: jobIdOf(RUN, 'running', 1), member: true, checkedAt: clock }));
    await check.check(clock);
    expect(lost).toEqual([]);
    // As FLUSHDB would (the Redis is shared: only this run's mark goes; none of these jobs was ever added).
    await commands.del(new RedisKeys(prefix).runWatch(RUN));
    clock += 1;
    await check.check(clock);
    expect(lost.sort((a, b) => a.stepKey.localeCompare(b.stepKey))).toEqual([
      { stepKey: 'member', vanished: true },
      { stepKey: 'running', vanished: true },
      { stepKey: 'waiting', vanished: true },
    ]);
    expect(relaunched).toEqual([]);
  });

  it("relaunches a member whose lead's job ended without running it, unless it went in a job of its own", async () => {
    const check = lostJobs();
    await check.mark();
    // A draining worker handed this one over as a job of its own.
    await addJob('handed');
    const lead = jobIdOf(RUN, 'ended-lead', 1);
    inFlight.set(entry('member', { jobId: lead, member: true, checkedAt: clock }));
    inFlight.set(entry('handed', { jobId: lead, member: true, checkedAt: clock }));
    clock += LOCK_MS;
    await check.check(clock);
    expect(relaunched).toEqual(['member']);
    expect(lost).toEqual([]);
  });
});
