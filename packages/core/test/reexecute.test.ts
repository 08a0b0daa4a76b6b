import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dynamicItem,
  executePipeline,
  Instance,
  NotFoundError,
  op,
  pipeline,
  reexecuteRun,
  UsageError,
} from '@stepwise/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

/** Side channel: which steps ran, and what each received, in this process. */
const ran: string[] = [];
const received: Record<string, unknown> = {};

const first = op({
  name: 's1',
  out: z.number(),
  compute: (ctx) => {
    ran.push(ctx.stepKey);
    return 1;
  },
});
const plus = (name: string, n: number) =>
  op({
    name,
    ins: { x: z.number() },
    out: z.number(),
    compute: (ctx, { x }) => {
      ran.push(ctx.stepKey);
      received[ctx.stepKey] = x;
      return x + n;
    },
  });
const divide = op({
  name: 's3',
  config: z.object({ divisor: z.number() }),
  ins: { x: z.number() },
  out: z.number(),
  compute: (ctx, { x }) => {
    ran.push(ctx.stepKey);
    received[ctx.stepKey] = x;
    if (ctx.config.divisor === 0) throw new Error('division by zero: set ops.s3.config.divisor');
    return x / ctx.config.divisor;
  },
});
const s2 = plus('s2', 10);
const s4 = plus('s4', 100);
const s5 = plus('s5', 1_000);

const chain = pipeline({
  name: 'chain',
  build: () => {
    s5({ x: s4({ x: divide({ x: s2({ x: first() }) }) }) });
  },
});

let home: string;
let instance: Instance;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'stepwise-reexecute-'));
  instance = await Instance.fromConfig(
    { storage: { sqlite: { dir: 'storage' } }, io: { fs: { dir: 'io' } }, computeLogs: { memory: {} } },
    { home },
  );
});

afterAll(async () => {
  await instance?.close();
  rmSync(home, { recursive: true, force: true });
});

function stepStarts(events: Array<{ type: string; stepKey?: string }>): Array<string | undefined> {
  return events.filter((e) => e.type === 'STEP_START').map((e) => e.stepKey);
}

describe('reexecuteRun', () => {
  it('from failure runs only the failed step and those after it, reading the stored outputs of the others', async () => {
    ran.length = 0;
    const parent = await executePipeline(chain, { instance, runConfig: { ops: { s3: { config: { divisor: 0 } } } } });
    expect(parent.status).toBe('FAILURE');
    expect(ran).toEqual(['s1', 's2', 's3']);
    expect(parent.steps.s4?.status).toBe('NOT_STARTED');

    ran.length = 0;
    for (const k of Object.keys(received)) delete received[k];
    const child = await reexecuteRun(instance, parent.runId, chain, {
      fromFailure: true,
      runConfig: { ops: { s3: { config: { divisor: 2 } } } },
    });
    expect(child.status).toBe('SUCCESS');
    expect(ran).toEqual(['s3', 's4', 's5']);
    // s3 read s2's output as the parent stored it (1 + 10); s4 and s5 got the new run's values.
    expect(received).toEqual({ s3: 11, s4: 5.5, s5: 105.5 });
    expect(child.output('s5')).toBe(1105.5);
    expect(Object.keys(child.steps)).toEqual(['s3', 's4', 's5']);

    const record = await instance.storage.getRun(child.runId);
    expect(record?.parentRunId).toBe(parent.runId);
    expect(record?.rootRunId).toBe(parent.runId);
    expect(record?.tags['stepwise/parentRunId']).toBe(parent.runId);
    expect(record?.plan.reuse).toEqual({ s1: parent.runId, s2: parent.runId });
    expect(record?.plan.steps.map((s) => s.key)).toEqual(['s3', 's4', 's5']);
    // The new run config is the parent's with the fix merged over it.
    expect(record?.runConfig).toEqual({ ops: { s3: { config: { divisor: 2 } } } });
    expect(stepStarts(await instance.storage.getEvents(child.runId))).toEqual(['s3', 's4', 's5']);

    // A re-execution of the re-execution reuses s1/s2 from where they were produced, s3/s4 from the child.
    ran.length = 0;
    const grandchild = await reexecuteRun(instance, child.runId, chain, { stepSelection: 's5' });
    expect(grandchild.status).toBe('SUCCESS');
    expect(ran).toEqual(['s5']);
    expect(received.s5).toBe(105.5);
    const g = await instance.storage.getRun(grandchild.runId);
    expect(g?.parentRunId).toBe(child.runId);
    expect(g?.rootRunId).toBe(parent.runId);
    expect(g?.plan.reuse).toEqual({ s1: parent.runId, s2: parent.runId, s3: child.runId, s4: child.runId });
  });

  it('rejects misuse before running anything', async () => {
    await expect(reexecuteRun(instance, 'no-such-run', chain, { fromFailure: true })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    const ok = await executePipeline(chain, { instance, runConfig: { ops: { s3: { config: { divisor: 1 } } } } });
    expect(ok.status).toBe('SUCCESS');
    ran.length = 0;
    await expect(reexecuteRun(instance, ok.runId, chain, { fromFailure: true })).rejects.toThrow(
      /nothing to re-execute/,
    );
    await expect(
      reexecuteRun(instance, ok.runId, chain, { fromFailure: true, stepSelection: 's1' }),
    ).rejects.toBeInstanceOf(UsageError);
    const other = pipeline({ name: 'other', build: () => void first() });
    await expect(reexecuteRun(instance, ok.runId, other)).rejects.toThrow(/pipeline 'chain', not 'other'/);
    expect(ran).toEqual([]);
  });

  it('from failure of a mapped copy reruns the dynamic source, its copies and the collect', async () => {
    const split = op({
      name: 'split',
      out: { schema: z.number(), dynamic: true },
      compute: (ctx) => {
        ran.push(ctx.stepKey);
        return [dynamicItem('a', 1), dynamicItem('b', 2)];
      },
    });
    const check = op({
      name: 'check',
      config: z.object({ failOn: z.number().default(-1) }),
      ins: { x: z.number() },
      out: z.number(),
      compute: (ctx, { x }) => {
        ran.push(ctx.stepKey);
        if (x === ctx.config.failOn) throw new Error(`bad item ${x}`);
        return x * 2;
      },
    });
    const total = op({
      name: 'total',
      ins: { xs: z.array(z.number()) },
      out: z.number(),
      compute: (ctx, { xs }) => {
        ran.push(ctx.stepKey);
        return xs.reduce((a, b) => a + b, 0);
      },
    });
    const start = op({
      name: 'start',
      out: z.number(),
      compute: (ctx) => {
        ran.push(ctx.stepKey);
        return 0;
      },
    });
    const fan = pipeline({
      name: 'fan',
      build: () => {
        start();
        total({
          xs: split()
            .map((x) => check({ x }))
            .collect(),
        });
      },
    });
    ran.length = 0;
    const parent = await executePipeline(fan, { instance, runConfig: { ops: { check: { config: { failOn: 2 } } } } });
    expect(parent.status).toBe('FAILURE');
    expect(parent.steps['check[b]']?.status).toBe('FAILURE');
    ran.length = 0;
    const child = await reexecuteRun(instance, parent.runId, fan, {
      fromFailure: true,
      runConfig: { ops: { check: { config: { failOn: -1 } } } },
    });
    expect(child.status).toBe('SUCCESS');
    expect(ran.sort()).toEqual(['check[a]', 'check[b]', 'split', 'total']);
    expect(child.output('total')).toBe(6);
    expect((await instance.storage.getRun(child.runId))?.plan.reuse).toEqual({ start: parent.runId });
  });
});
