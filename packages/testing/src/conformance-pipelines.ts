/**
 * The pipelines of the executor conformance suite. Every executor's processes load this file (the multiprocess
 * step processes and `stepwise worker`), so what a step must tell the test across processes goes through files
 * named in its config.
 */
import { writeFileSync } from 'node:fs';
import { dynamicItem, op, pipeline, repository, resource } from '@stepwise/core';
import { z } from 'zod';

const source = op({
  name: 'source',
  config: z.object({ n: z.number().default(3) }),
  out: z.number(),
  compute: (ctx) => ctx.config.n,
});
const inc = op({ name: 'inc', ins: { x: z.number() }, out: z.number(), compute: (_c, { x }) => x + 1 });
const sum = op({
  name: 'sum',
  ins: { xs: z.array(z.number()) },
  out: z.number(),
  compute: (_c, { xs }) => xs.reduce((a, b) => a + b, 0),
});

const flaky = op({
  name: 'flaky',
  config: z.object({ succeedOn: z.number().default(3) }),
  out: z.number(),
  retry: { maxRetries: 3, delayMs: 5, backoff: 'exponential' },
  compute: (ctx) => {
    if (ctx.attempt < ctx.config.succeedOn) throw new Error(`flaky fails attempt ${ctx.attempt}`);
    return ctx.attempt;
  },
});

/** `flaky` fails until attempt `succeedOn` (default 3, within its 3 retries); `inc` adds one to its attempt. */
export const retrying = pipeline({ name: 'conformance_retry', build: () => void inc({ x: flaky() }) });

const branch = op({
  name: 'branch',
  config: z.object({ even: z.boolean().default(true) }),
  outs: { even: { schema: z.number(), optional: true }, odd: { schema: z.number(), optional: true } },
  compute: (ctx) => (ctx.config.even ? { even: 2 } : { odd: 1 }),
});

/** `branch` yields one of two optional outputs: the steps after the other one are skipped. */
export const optionalOutputs = pipeline({
  name: 'conformance_optional',
  build: () => {
    const { even, odd } = branch();
    inc.as('after_odd2')({ x: inc.as('after_odd')({ x: odd }) });
    inc.as('after_even')({ x: even });
  },
});

const split = op({
  name: 'split',
  ins: { n: z.number() },
  out: { schema: z.number(), dynamic: true },
  compute: (_c, { n }) => Array.from({ length: n }, (_, i) => dynamicItem(`k${i}`, i * 10)),
});

/** A dynamic fan-out of `n` items, two steps per item, and a collect. */
export const dynamicFanOut = pipeline({
  name: 'conformance_dynamic',
  build: () => {
    const mapped = split({ n: source() }).map((x) => inc.as('twice')({ x: inc({ x }) }));
    sum({ xs: mapped.collect() });
  },
});

const waitForCancel = op({
  name: 'wait_for_cancel',
  config: z.object({ marker: z.string() }),
  out: z.number(),
  compute: (ctx) =>
    new Promise<number>((_resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('never canceled')), 60_000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        writeFileSync(`${ctx.config.marker}.aborted`, String(process.pid));
        reject(new Error('aborted'));
      });
      // Written once the listener is in place: the test cancels when it sees this file.
      writeFileSync(`${ctx.config.marker}.started`, String(process.pid));
    }),
});

/** A step that runs until the run is canceled; the step after it must never start. */
export const cancelable = pipeline({
  name: 'conformance_cancel',
  build: () => void inc({ x: waitForCancel() }),
});

const fail = op({
  name: 'fail',
  out: z.number(),
  compute: () => {
    throw new Error('fails on purpose');
  },
});

/** `fail` fails: its downstream never starts, the independent branch runs to the end. */
export const isolation = pipeline({
  name: 'conformance_isolation',
  build: () => {
    inc.as('down2')({ x: inc.as('down')({ x: fail() }) });
    inc.as('other2')({ x: inc.as('other')({ x: source() }) });
  },
});

const counter = resource({
  config: z.object({ start: z.number() }),
  setup: ({ config }) => ({ value: config.start }),
});
const useCounter = op({
  name: 'use_counter',
  out: z.number(),
  requiredResources: ['counter'],
  compute: (ctx) => (ctx.resources.counter as { value: number }).value,
});

/** Two steps read a configured resource. */
export const resources = pipeline({
  name: 'conformance_resources',
  resources: { counter },
  build: () => {
    useCounter.as('u1')();
    useCounter.as('u2')();
  },
});

const broken = resource({
  setup: () => {
    throw new Error('database is down');
  },
});
const useBroken = op({ name: 'use_broken', out: z.number(), requiredResources: ['db'], compute: () => 1 });

/** A resource whose setup throws: the step that needs it fails, the one that does not runs. */
export const brokenResource = pipeline({
  name: 'conformance_broken_resource',
  resources: { db: broken },
  build: () => {
    inc({ x: useBroken() });
    inc.as('free')({ x: source() });
  },
});

const makeHandler = op({
  name: 'make_handler',
  outs: { handler: { schema: z.unknown() } },
  compute: () => ({ handler: { onEvent: () => 1 } }),
});
const useHandler = op({
  name: 'use_handler',
  ins: { handler: z.unknown() },
  out: z.string(),
  compute: (_c, { handler }) => typeof handler,
});

/** `make_handler` returns a function inside its output: it cannot cross the wire, so it fails on every executor. */
export const unserializable = pipeline({
  name: 'conformance_unserializable',
  build: () => void useHandler({ handler: makeHandler().handler }),
});

export default repository({
  pipelines: [
    retrying,
    optionalOutputs,
    dynamicFanOut,
    cancelable,
    isolation,
    resources,
    brokenResource,
    unserializable,
  ],
});
