import { makeEvent, type StepwiseEvent } from '@stepwise/core';
import {
  decodeEventEntry,
  encodeEventEntry,
  encodeJobData,
  MAX_MESSAGE_BYTES,
  MalformedMessageError,
  parseJobData,
  type StepJobData,
  WIRE_VERSION,
} from '@stepwise/executor-queue';
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { anyValue, fuzzGuard, mutateAt, pathsOf } from './support/fuzz.js';

// Fuzzing of the two doors through which bytes from Redis reach Stepwise code: BullMQ job payloads (read by
// workers) and run event stream entries (read by the coordinator). At least 10,000 inputs per target, fixed seeds;
// only MalformedMessageError may come out, valid messages must still pass, and no input may take long.

const NUM_RUNS = 10_000;

const validJob: StepJobData = {
  v: WIRE_VERSION,
  runId: 'run-1',
  pipeline: 'etl',
  fingerprint: 'abc123',
  attempt: 1,
  task: {
    runId: 'run-1',
    key: 'total[a]',
    planKey: 'total',
    op: 'total',
    mappingKey: 'a',
    inputs: {
      rows: { from: 'one', ref: { runId: 'run-1', step: 'extract', output: 'rows' } },
      many: { from: 'many', refs: [{ runId: 'run-0', step: 'x', output: 'result', mappingKey: 'k' }] },
      given: { from: 'config', value: { any: ['thing', 1] } },
    },
    outputs: [{ name: 'result', optional: false, dynamic: false }],
    config: { limit: 3 },
    tags: { queue: 'default' },
    retry: { maxRetries: 2, delayMs: 10, backoff: 'exponential', jitter: true },
  },
  resources: { db: { url: 'postgres://x' } },
  io: { kind: 'fs', dir: '/tmp/io' },
};

const validEvents: StepwiseEvent[] = [
  makeEvent('STEP_START', 'run-1', { planKey: 'total' }, { stepKey: 'total', attempt: 1, workerId: 'w1' }),
  makeEvent('STEP_OUTPUT', 'run-1', { output: 'result', mappingKey: 'a' }, { stepKey: 'total[a]', attempt: 2 }),
  makeEvent(
    'STEP_FAILURE',
    'run-1',
    { error: { name: 'Error', message: 'boom', stack: 'Error: boom\n    at x', code: 'E_X' }, durationMs: 3 },
    { stepKey: 'total', attempt: 1, message: 'boom' },
  ),
  makeEvent('LOG', 'run-1', { level: 'info', msg: 'hello', fields: { n: 1, nested: { a: [1, 2] } } }, { stepKey: 's' }),
  makeEvent('ENGINE_EVENT', 'run-1', { kind: 'worker_lost', details: { worker: 'w2' } }),
];

function guard() {
  return fuzzGuard(
    (error) =>
      error instanceof MalformedMessageError &&
      error.code === 'MALFORMED_MESSAGE' &&
      /^malformed (step job|event entry)/.test(error.message),
  );
}

const keyArb = fc.oneof(
  fc.constantFrom(
    'v',
    'runId',
    'task',
    'inputs',
    'from',
    'ref',
    'io',
    'kind',
    'type',
    'data',
    '__proto__',
    'constructor',
  ),
  fc.string({ maxLength: 6 }),
);

const mutationsOf = (base: unknown) =>
  fc.array(
    fc.record({
      path: fc.oneof(fc.constantFrom(...pathsOf(base)), fc.array(keyArb, { maxLength: 4 })),
      value: fc.oneof(anyValue, fc.constantFrom(null, '', 0, -1, 1.5, [], {}, 'one', 'many', 'config', 'redis', 'fs')),
      remove: fc.boolean(),
    }),
    { minLength: 1, maxLength: 3 },
  );

const validWire = encodeJobData(validJob);

describe('fuzz: parseJobData', () => {
  it('accepts the valid job it mutates, JSON round-tripped as BullMQ stores it', () => {
    expect(parseJobData(JSON.parse(JSON.stringify(validWire)))).toEqual(validJob);
  });

  it('sends refs of the run of the job without the run id, and expands them back', () => {
    const wide: StepJobData = {
      ...validJob,
      task: {
        ...validJob.task,
        inputs: {
          xs: {
            from: 'many',
            refs: [
              { runId: 'run-1', step: 'a', output: 'result' },
              { runId: 'run-1', step: 'b', output: 'other' },
              { runId: 'run-1', step: 'c', output: 'result', mappingKey: 'k' },
              { runId: 'run-0', step: 'd', output: 'result' },
            ],
          },
        },
      },
      peers: [{ ...validJob.task, key: 'other', mappingKey: undefined }],
      inline: { 'a/result': 'wQEB' },
    };
    const wire = JSON.parse(JSON.stringify(encodeJobData(wide)));
    expect(wire.task.inputs.xs.refs).toEqual([
      'a',
      { step: 'b', output: 'other' },
      { step: 'c', output: 'result', mappingKey: 'k' },
      { runId: 'run-0', step: 'd', output: 'result' },
    ]);
    expect(JSON.stringify(wire).match(/run-1/g)).toHaveLength(1);
    expect(parseJobData(wire)).toEqual(wide);
  });

  it('throws only MalformedMessageError on 10,000 mutated jobs and 2,000 arbitrary values', () => {
    const { stats, run } = guard();
    fc.assert(
      fc.property(mutationsOf(validWire), (mutations) => {
        let data: unknown = validWire;
        for (const m of mutations) data = mutateAt(data, m.path, m.value, m.remove);
        run(() => parseJobData(data));
      }),
      { seed: 0x10b1, numRuns: NUM_RUNS },
    );
    fc.assert(
      fc.property(anyValue, (data) => run(() => parseJobData(data))),
      { seed: 0x10b2, numRuns: 2_000 },
    );
    expect(stats.rejected).toBeGreaterThan(5_000);
    // Mutations that only touch free-form places (config values, resources) must still be accepted.
    expect(stats.accepted).toBeGreaterThan(100);
    expect(stats.slowestMs).toBeLessThan(1_000);
  }, 120_000);

  it('rejects jobs that would make a worker load another run or step than they name', () => {
    // The run id is given once: a task naming another one is refused, not followed.
    const bad = mutateAt(validWire, ['task', 'runId'], 'run-2', false);
    expect(() => parseJobData(bad)).toThrow(MalformedMessageError);
    expect(() => parseJobData(mutateAt(validWire, ['v'], 1, false))).toThrow(/malformed step job: v/);
  });

  it('refuses a job of the previous wire version, whose peers were called batch', () => {
    const v2 = { ...validWire, v: 2, batch: [validWire.task] };
    expect(() => parseJobData(v2)).toThrow(/malformed step job: v: .*; \(root\): .*batch/);
    // Under the current version the old field name is refused too, not ignored: its steps would never run.
    expect(() => parseJobData({ ...validWire, batch: [validWire.task] })).toThrow(/batch/);
  });
});

/** Fields as XREAD returns them in buffer mode. */
const asFields = (entry: ReadonlyArray<string | Buffer>) =>
  entry.map((f) => (typeof f === 'string' ? Buffer.from(f) : f));

describe('fuzz: decodeEventEntry', () => {
  it('decodes the valid entries it mutates', () => {
    validEvents.forEach((event, i) => {
      expect(decodeEventEntry(asFields(encodeEventEntry([event], `p:${i}`)))).toEqual({
        id: `p:${i}`,
        events: [event],
        values: [],
      });
    });
    expect(decodeEventEntry(asFields(encodeEventEntry(validEvents, 'p:all'))).events).toEqual(validEvents);
    const value = { key: 'r/s/result', attempt: 2, bytes: Buffer.from([1, 2, 3]) };
    expect(decodeEventEntry(asFields(encodeEventEntry(validEvents, 'p:v', [value]))).values).toEqual([value]);
    expect(() =>
      decodeEventEntry(asFields([...encodeEventEntry(validEvents, 'p:w'), 'v', Buffer.from([0xc1])])),
    ).toThrow(MalformedMessageError);
  });

  it('throws only MalformedMessageError on 10,000 random field lists', () => {
    const { stats, run } = guard();
    const field = fc.oneof(
      fc.constantFrom('e', 'i', 'x', '').map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b)),
      fc.constantFrom(...validEvents).map((e) => pack(e)),
    );
    fc.assert(
      fc.property(fc.array(field, { maxLength: 6 }), (fields) => run(() => decodeEventEntry(fields))),
      { seed: 0xe1, numRuns: NUM_RUNS },
    );
    expect(stats.rejected).toBeGreaterThan(5_000);
    expect(stats.slowestMs).toBeLessThan(1_000);
  }, 120_000);

  it('throws only MalformedMessageError on 10,000 byte-level mutations of valid entries', () => {
    const { stats, run } = guard();
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 9 }) }),
      fc.record({
        kind: fc.constant('header' as const),
        at: fc.nat(),
        byte: fc.constantFrom(0xc6, 0xc9, 0xdb, 0xdd, 0xdf, 0xd4, 0xd8, 0xc7),
      }),
    );
    fc.assert(
      fc.property(
        fc.nat({ max: validEvents.length - 1 }),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          let bytes = Buffer.from(pack(validEvents[which]));
          for (const e of edits) {
            const at = e.at % Math.max(1, bytes.length);
            if (e.kind === 'flip' && at < bytes.length) bytes[at] = (bytes[at] as number) ^ (1 << e.bit);
            else if (e.kind === 'set' && at < bytes.length) bytes[at] = e.byte;
            else if (e.kind === 'cut') bytes = bytes.subarray(0, at);
            else if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
            else if (e.kind === 'header') {
              bytes = Buffer.concat([
                bytes.subarray(0, at),
                Buffer.from([e.byte, 0xff, 0xff, 0xff, 0xf0]),
                bytes.subarray(at),
              ]);
            }
          }
          run(() => decodeEventEntry(asFields(['e', bytes, 'i', 'p:1'])));
        },
      ),
      { seed: 0xe2, numRuns: NUM_RUNS },
    );
    expect(stats.rejected).toBeGreaterThan(1_000);
    expect(stats.accepted).toBeGreaterThan(100);
    expect(stats.slowestMs).toBeLessThan(1_000);
  }, 120_000);

  it('throws only MalformedMessageError on 10,000 well-formed msgpack entries carrying mutated events', () => {
    const { stats, run } = guard();
    fc.assert(
      fc.property(
        fc.constantFrom(...validEvents).chain((e) => fc.tuple(fc.constant(e), mutationsOf(e))),
        fc.nat(),
        ([event, mutations], salt) => {
          let value: unknown = event;
          for (const m of mutations) value = mutateAt(value, m.path, m.value, m.remove);
          let bytes: Buffer;
          try {
            bytes = pack(value);
          } catch {
            return; // msgpackr cannot encode it (e.g. a boxed symbol): nothing to send
          }
          run(() => decodeEventEntry(asFields(['e', bytes, 'i', `p:${salt}`])));
        },
      ),
      { seed: 0xe3, numRuns: NUM_RUNS },
    );
    expect(stats.rejected).toBeGreaterThan(2_000);
    expect(stats.accepted).toBeGreaterThan(100);
    expect(stats.slowestMs).toBeLessThan(1_000);
  }, 120_000);

  it('rejects an entry over the size limit before decoding it', () => {
    const huge = Buffer.alloc(MAX_MESSAGE_BYTES + 1);
    expect(() => decodeEventEntry(asFields(['e', huge, 'i', 'p:1']))).toThrow(/malformed event entry: \d+ bytes/);
    expect(() => decodeEventEntry(asFields(['e', pack(validEvents[0])]))).toThrow(/fields e and i are required/);
  });
});
