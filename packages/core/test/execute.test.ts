import {
  ConfigError,
  dynamicItem,
  executePipeline,
  Instance,
  op,
  pipeline,
  resource,
  runEvents,
  type StepwiseEvent,
} from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const num = op({
  name: 'num',
  config: z.object({ value: z.number().default(1) }),
  out: z.number(),
  compute: (ctx) => ctx.config.value,
});
const add = op({
  name: 'add',
  ins: { a: z.number(), b: z.number() },
  out: z.number(),
  compute: (_ctx, { a, b }) => a + b,
});
const inc = op({ name: 'inc', ins: { x: z.number() }, out: z.number(), compute: (_ctx, { x }) => x + 1 });
const sum = op({
  name: 'sum',
  ins: { xs: z.array(z.number()) },
  out: z.number(),
  compute: (_ctx, { xs }) => xs.reduce((a, b) => a + b, 0),
});

function eventsOf(events: StepwiseEvent[], stepKey: string): string[] {
  return events.filter((e) => e.stepKey === stepKey).map((e) => e.type);
}

describe('executePipeline (in-process)', () => {
  it('runs a linear pipeline in order and returns outputs', async () => {
    const p = pipeline({
      name: 'linear',
      build: () => {
        inc.as('c')({ x: inc.as('b')({ x: num() }) });
      },
    });
    const events: StepwiseEvent[] = [];
    const result = await executePipeline(p, {
      runConfig: { ops: { num: { config: { value: 5 } } } },
      onEvent: (e) => events.push(e),
    });
    expect(result.status).toBe('SUCCESS');
    expect(result.output('c')).toBe(7);
    expect(result.steps.b?.status).toBe('SUCCESS');
    expect(result.steps.b?.attempts).toBe(1);
    const starts = events.filter((e) => e.type === 'STEP_START').map((e) => e.stepKey);
    expect(starts).toEqual(['num', 'b', 'c']);
    expect(events[0]?.type).toBe('RUN_START');
    expect(events.at(-1)?.type).toBe('RUN_SUCCESS');
    expect(eventsOf(events, 'b')).toEqual(['STEP_START', 'STEP_INPUT', 'STEP_OUTPUT', 'STEP_SUCCESS']);
    for (const e of events) {
      expect(e.runId).toBe(result.runId);
      expect(typeof e.timestamp).toBe('number');
    }
  });

  it('runs a diamond, fan-in and aliasing', async () => {
    const p = pipeline({
      name: 'diamond',
      build: () => {
        const top = num();
        const left = inc.as('left')({ x: top });
        const right = inc.as('right')({ x: top });
        add({ a: left, b: right });
        sum({ xs: [top, left, right] });
      },
    });
    const result = await executePipeline(p, { runConfig: { ops: { num: { config: { value: 10 } } } } });
    expect(result.status).toBe('SUCCESS');
    expect(result.output('add')).toBe(22);
    expect(result.output('sum')).toBe(32);
    expect(Object.keys(result.steps).sort()).toEqual(['add', 'left', 'num', 'right', 'sum']);
  });

  it('runs independent steps concurrently (wide fan-out) up to the limit', async () => {
    let running = 0;
    let peak = 0;
    const slow = op({
      name: 'slow',
      ins: { x: z.number() },
      out: z.number(),
      compute: async (_ctx, { x }) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return x;
      },
    });
    const p = pipeline({
      name: 'wide',
      build: () => {
        const top = num();
        sum({ xs: Array.from({ length: 40 }, (_, i) => slow.as(`s${i}`)({ x: top })) });
      },
    });
    const result = await executePipeline(p, { runConfig: { execution: { inProcess: { maxConcurrent: 8 } } } });
    expect(result.status).toBe('SUCCESS');
    expect(result.output('sum')).toBe(40);
    expect(peak).toBe(8);
  });

  it('skips steps downstream of an optional output that was not produced', async () => {
    const branch = op({
      name: 'branch',
      config: z.object({ even: z.boolean() }),
      outs: { even: { schema: z.number(), optional: true }, odd: { schema: z.number(), optional: true } },
      compute: (ctx) => (ctx.config.even ? { even: 2 } : { odd: 1 }),
    });
    const p = pipeline({
      name: 'optional',
      build: () => {
        const { even, odd } = branch();
        inc.as('after_odd2')({ x: inc.as('after_odd')({ x: odd }) });
        inc.as('after_even')({ x: even });
      },
    });
    const events: StepwiseEvent[] = [];
    const result = await executePipeline(p, {
      runConfig: { ops: { branch: { config: { even: true } } } },
      onEvent: (e) => events.push(e),
    });
    expect(result.status).toBe('SUCCESS');
    expect(result.steps.after_even?.status).toBe('SUCCESS');
    expect(result.steps.after_odd?.status).toBe('SKIPPED');
    expect(result.steps.after_odd2?.status).toBe('SKIPPED');
    expect(
      events
        .filter((e) => e.type === 'STEP_SKIPPED')
        .map((e) => e.stepKey)
        .sort(),
    ).toEqual(['after_odd', 'after_odd2']);
  });

  it('fans out over a dynamic output and collects', async () => {
    const split = op({
      name: 'split',
      out: { schema: z.number(), dynamic: true },
      compute: () => [dynamicItem('a', 1), dynamicItem('b', 2), dynamicItem('c', 3)],
    });
    const p = pipeline({
      name: 'dynamic',
      build: () => {
        const doubled = split().map((x) => inc.as('twice')({ x: inc({ x }) }));
        sum({ xs: doubled.collect() });
      },
    });
    const result = await executePipeline(p);
    expect(result.status).toBe('SUCCESS');
    expect(result.output('sum')).toBe(1 + 2 + 3 + 6);
    expect(Object.keys(result.steps).sort()).toEqual(
      ['inc[a]', 'inc[b]', 'inc[c]', 'split', 'sum', 'twice[a]', 'twice[b]', 'twice[c]'].sort(),
    );
    expect(result.steps['twice[b]']?.mappingKey).toBe('b');
    expect(result.output('split')).toEqual([1, 2, 3]);
  });

  it('a dynamic output with no items collects an empty list', async () => {
    const none = op({ name: 'none', out: { schema: z.number(), dynamic: true }, compute: () => [] });
    const p = pipeline({
      name: 'dynamic_empty',
      build: () => {
        sum({
          xs: none()
            .map((x) => inc({ x }))
            .collect(),
        });
      },
    });
    const result = await executePipeline(p);
    expect(result.status).toBe('SUCCESS');
    expect(result.output('sum')).toBe(0);
  });

  it('sets up resources once per run and tears them down after', async () => {
    const log: string[] = [];
    const counter = resource({
      config: z.object({ start: z.number() }),
      setup: ({ config }) => {
        log.push('setup');
        return { value: config.start };
      },
      teardown: () => {
        log.push('teardown');
      },
    });
    const use = op({
      name: 'use',
      out: z.number(),
      compute: (ctx) => {
        log.push('use');
        return (ctx.resources.counter as { value: number }).value;
      },
    });
    const p = pipeline({
      name: 'resources',
      resources: { counter },
      build: () => {
        use.as('u1')();
        use.as('u2')();
      },
    });
    const result = await executePipeline(p, { runConfig: { resources: { counter: { config: { start: 7 } } } } });
    expect(result.output('u1')).toBe(7);
    expect(log).toEqual(['setup', 'use', 'use', 'teardown']);
  });

  it('fails a step whose output does not match its schema, and never starts its downstream', async () => {
    const bad = op({ name: 'bad', out: z.number(), compute: () => 'nope' as unknown as number });
    const p = pipeline({
      name: 'typecheck',
      build: () => {
        inc({ x: bad() });
      },
    });
    const result = await executePipeline(p);
    expect(result.status).toBe('FAILURE');
    expect(result.steps.bad?.status).toBe('FAILURE');
    expect(result.steps.bad?.error?.code).toBe('TYPE_CHECK_FAILED');
    expect(result.steps.bad?.error?.message).toMatch(/output 'result' of step 'bad' failed its type check/);
    expect(result.steps.inc?.status).toBe('NOT_STARTED');
  });

  it('fails a step whose input does not match its schema', async () => {
    const str = op({ name: 'str', out: z.string(), compute: () => 'x' });
    const p = pipeline({
      name: 'typecheck_in',
      nodes: { str, inc },
      deps: { inc: { x: 'str' } },
    });
    const result = await executePipeline(p);
    expect(result.steps.inc?.status).toBe('FAILURE');
    expect(result.steps.inc?.error?.message).toMatch(/input 'x' of step 'inc' failed its type check/);
  });

  it('retries with backoff and succeeds on attempt 3', async () => {
    const attempts: number[] = [];
    const flaky = op({
      name: 'flaky',
      out: z.number(),
      retry: { maxRetries: 3, delayMs: 5, backoff: 'exponential', jitter: true },
      compute: (ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
        return ctx.attempt;
      },
    });
    const p = pipeline({ name: 'retry_ok', build: () => void inc({ x: flaky() }) });
    const events: StepwiseEvent[] = [];
    const result = await executePipeline(p, { onEvent: (e) => events.push(e) });
    expect(result.status).toBe('SUCCESS');
    expect(attempts).toEqual([1, 2, 3]);
    expect(result.steps.flaky?.attempts).toBe(3);
    expect(result.output('inc')).toBe(4);
    expect(eventsOf(events, 'flaky')).toEqual([
      'STEP_START',
      'STEP_UP_FOR_RETRY',
      'STEP_RESTARTED',
      'STEP_START',
      'STEP_UP_FOR_RETRY',
      'STEP_RESTARTED',
      'STEP_START',
      'STEP_OUTPUT',
      'STEP_SUCCESS',
    ]);
  });

  it('exhausts retries and fails the run', async () => {
    const broken = op({
      name: 'broken',
      out: z.number(),
      retry: { maxRetries: 2 },
      compute: () => {
        throw new Error('always');
      },
    });
    const p = pipeline({ name: 'retry_fail', build: () => void inc({ x: broken() }) });
    const events: StepwiseEvent[] = [];
    const result = await executePipeline(p, { onEvent: (e) => events.push(e) });
    expect(result.status).toBe('FAILURE');
    expect(result.steps.broken?.attempts).toBe(3);
    expect(result.steps.broken?.error?.message).toBe('always');
    expect(result.steps.inc?.status).toBe('NOT_STARTED');
    const failure = events.find((e) => e.type === 'STEP_FAILURE');
    expect(failure?.type === 'STEP_FAILURE' && failure.data.error.stack).toMatch(/always/);
    expect(events.at(-1)?.type).toBe('RUN_FAILURE');
  });

  it('a failed step stops its downstream but not independent branches', async () => {
    const fail = op({
      name: 'fail',
      out: z.number(),
      compute: () => {
        throw new Error('x');
      },
    });
    const started: string[] = [];
    const track = op({
      name: 'track',
      ins: { x: z.number() },
      out: z.number(),
      compute: (ctx, { x }) => {
        started.push(ctx.stepKey);
        return x;
      },
    });
    const p = pipeline({
      name: 'fail_stop',
      build: () => {
        track.as('down2')({ x: track.as('down')({ x: fail() }) });
        track.as('other')({ x: num() });
      },
    });
    const result = await executePipeline(p);
    expect(result.status).toBe('FAILURE');
    expect(started).toEqual(['other']);
    expect(result.steps.down?.status).toBe('NOT_STARTED');
    expect(result.steps.down2?.status).toBe('NOT_STARTED');
  });

  it('cancels mid-run: running steps see the abort, no new step starts', async () => {
    let sawAbort = false;
    const started: string[] = [];
    const long = op({
      name: 'long',
      out: z.number(),
      compute: (ctx) =>
        new Promise<number>((resolve, reject) => {
          started.push(ctx.stepKey);
          const timer = setTimeout(() => resolve(1), 10_000);
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
        }),
    });
    const p = pipeline({ name: 'cancel', build: () => void inc({ x: long() }) });
    const controller = new AbortController();
    const events: StepwiseEvent[] = [];
    const pending = executePipeline(p, {
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'STEP_START' && e.stepKey === 'long') setTimeout(() => controller.abort(), 20);
      },
    });
    const result = await pending;
    expect(result.status).toBe('CANCELED');
    expect(sawAbort).toBe(true);
    expect(started).toEqual(['long']);
    expect(result.steps.long?.status).toBe('CANCELED');
    expect(result.steps.inc?.status).toBe('NOT_STARTED');
    expect(events.at(-1)?.type).toBe('RUN_CANCELED');
  });

  it('yields the same events through the async iterator', async () => {
    const p = pipeline({ name: 'iter', build: () => void inc({ x: num() }) });
    const seen: string[] = [];
    for await (const event of runEvents(p)) seen.push(event.type);
    expect(seen[0]).toBe('RUN_START');
    expect(seen.at(-1)).toBe('RUN_SUCCESS');
    expect(seen.filter((t) => t === 'STEP_SUCCESS')).toHaveLength(2);
  });

  it('rejects a bad config before any step runs, and records nothing', async () => {
    const ran: string[] = [];
    const spy = op({ name: 'spy', config: z.object({ n: z.number() }), compute: () => void ran.push('spy') });
    const p = pipeline({ name: 'badcfg', build: () => void spy() });
    const instance = Instance.ephemeral();
    await expect(executePipeline(p, { instance, runConfig: { ops: { spy: { config: { n: 'x' } } } } })).rejects.toThrow(
      ConfigError,
    );
    expect(ran).toEqual([]);
    expect(await instance.storage.listRuns()).toEqual([]);
  });

  it('records the run and its ordered events in the instance storage', async () => {
    const instance = Instance.ephemeral();
    const p = pipeline({ name: 'stored', build: () => void inc({ x: num() }) });
    const result = await executePipeline(p, { instance, tags: { team: 'data' } });
    const run = await instance.storage.getRun(result.runId);
    expect(run?.status).toBe('SUCCESS');
    expect(run?.tags.team).toBe('data');
    const events = await instance.storage.getEvents(result.runId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.type).toBe('RUN_START');
    expect(events.at(-1)?.type).toBe('RUN_SUCCESS');
  });

  it('emits materializations and incremental outputs', async () => {
    const produce = op({
      name: 'produce',
      outs: { a: z.number(), b: z.number() },
      compute: (ctx) => {
        ctx.output('a', 1);
        ctx.emit({ kind: 'materialization', assetKey: 'warehouse/a', metadata: { rows: 1 } });
        // 'a' was emitted with ctx.output; the type asks for every required output.
        return { b: 2 } as { a: number; b: number };
      },
    });
    const p = pipeline({ name: 'incremental', build: () => void add(produce()) });
    const events: StepwiseEvent[] = [];
    const result = await executePipeline(p, { onEvent: (e) => events.push(e) });
    expect(result.output('add')).toBe(3);
    const mat = events.find((e) => e.type === 'MATERIALIZATION');
    expect(mat?.type === 'MATERIALIZATION' && mat.data.assetKey).toBe('warehouse/a');
  });
});
