import {
  buildPlan,
  ConfigError,
  type ExecutionPlan,
  type OpDefinition,
  op,
  pipeline,
  type ResourceDefinition,
  renderPlanDot,
  renderPlanJson,
  renderPlanText,
  resource,
  SelectionError,
  validateRunConfig,
} from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const rows = z.array(z.object({ id: z.number() }));
const extract = op({
  name: 'extract',
  config: z.object({ limit: z.number().default(10) }),
  outs: { rows },
  tags: { queue: 'io' },
  retry: { maxRetries: 2, delayMs: 10 },
  compute: () => ({ rows: [] }),
});
const total = op({ name: 'total', ins: { rows }, out: z.number(), compute: (_c, i) => i.rows.length });
const one = op({ name: 'one', out: z.number(), compute: () => 1 });
const inc = op({ name: 'inc', ins: { x: z.number() }, out: z.number(), compute: (_c, { x }) => x + 1 });
const add = op({
  name: 'add',
  ins: { x: z.number(), y: z.number() },
  out: z.number(),
  compute: (_c, { x, y }) => x + y,
});
const sum = op({ name: 'sum', ins: { xs: z.array(z.number()) }, out: z.number(), compute: (_c, { xs }) => xs.length });
const fan = op({
  name: 'fan',
  outs: { items: { schema: z.number(), dynamic: true } },
  compute: () => ({ items: [1, 2] }),
});
// The cast works around ResourceDefinition<T> not being assignable to ResourceDefinition<unknown> (teardown's parameter).
const db = resource({
  config: z.object({ url: z.string().default('mem://') }),
  setup: () => ({}),
}) as ResourceDefinition;

const etl = pipeline({
  name: 'etl',
  resources: { db },
  build: () => {
    const out = extract();
    total({ rows: out.rows });
    total.as('total_again')({ rows: out.rows });
  },
});

const dyn = pipeline({
  name: 'dyn',
  build: () => {
    const { items } = fan();
    const doubled = items.map((x) => inc.as('plus2')({ x: inc({ x }) }));
    sum({ xs: doubled.collect() });
    sum.as('count')({ xs: items.collect() });
  },
});

const step = (plan: ExecutionPlan, key: string) => {
  const s = plan.steps.find((p) => p.key === key);
  if (!s) throw new Error(`no step ${key}`);
  return s;
};

describe('buildPlan', () => {
  it('plans a linear pipeline in order with wired inputs', () => {
    const linear = pipeline({
      name: 'linear',
      build: () => {
        inc.as('c')({ x: inc.as('b')({ x: one.as('a')() }) });
      },
    });
    const plan = buildPlan(linear);
    expect(plan.version).toBe(1);
    expect(plan.pipeline).toBe('linear');
    expect(plan.fingerprint).toBe(linear.fingerprint);
    expect(plan.steps.map((s) => s.key)).toEqual(['a', 'b', 'c']);
    expect(step(plan, 'b')).toEqual({
      key: 'b',
      op: 'inc',
      inputs: { x: { from: 'step', step: 'a', output: 'result' } },
      outputs: [{ name: 'result', optional: false, dynamic: false }],
      tags: {},
      config: null,
      upstream: ['a'],
    });
    expect(step(plan, 'a').upstream).toEqual([]);
    expect(plan.selection).toBeNull();
    expect(plan.reuse).toEqual({});
  });

  it('plans a diamond', () => {
    const diamond = pipeline({
      name: 'diamond',
      build: () => {
        const top = one.as('top')();
        add.as('bottom')({ x: inc.as('left')({ x: top }), y: inc.as('right')({ x: top }) });
      },
    });
    const plan = buildPlan(diamond);
    const keys = plan.steps.map((s) => s.key);
    expect(keys[0]).toBe('top');
    expect(keys[3]).toBe('bottom');
    expect(step(plan, 'bottom').upstream).toEqual(['left', 'right']);
    expect(step(plan, 'bottom').inputs).toEqual({
      x: { from: 'step', step: 'left', output: 'result' },
      y: { from: 'step', step: 'right', output: 'result' },
    });
  });

  it('plans a fan-in as an ordered list of sources', () => {
    const fanIn = pipeline({
      name: 'fanin',
      build: () => {
        sum({ xs: [one.as('a')(), one.as('b')(), one.as('c')()] });
      },
    });
    const s = step(buildPlan(fanIn), 'sum');
    expect(s.inputs.xs).toEqual({
      from: 'fanIn',
      sources: [
        { step: 'a', output: 'result' },
        { step: 'b', output: 'result' },
        { step: 'c', output: 'result' },
      ],
    });
    expect(s.upstream).toEqual(['a', 'b', 'c']);
  });

  it('keys aliased steps by alias; applies config defaults, tags, retry and resources', () => {
    const plan = buildPlan(etl, { ops: { extract: { config: { limit: 3 } } } });
    expect(plan.steps.map((s) => [s.key, s.op])).toEqual([
      ['extract', 'extract'],
      ['total', 'total'],
      ['total_again', 'total'],
    ]);
    expect(step(plan, 'extract').config).toEqual({ limit: 3 });
    expect(step(plan, 'extract').tags).toEqual({ queue: 'io' });
    expect(step(plan, 'extract').retry).toEqual({ maxRetries: 2, delayMs: 10 });
    expect(step(plan, 'total_again').inputs.rows).toEqual({ from: 'step', step: 'extract', output: 'rows' });
    expect(plan.resources).toEqual({ db: { url: 'mem://' } });
    expect(step(buildPlan(etl), 'extract').config).toEqual({ limit: 10 });
  });

  it('takes unfed inputs from config', () => {
    const p = pipeline({ name: 'cfg', build: () => void total() });
    const plan = buildPlan(p, { ops: { total: { inputs: { rows: [{ id: 1 }] } } } });
    expect(step(plan, 'total').inputs.rows).toEqual({ from: 'config', value: [{ id: 1 }] });
    expect(() => buildPlan(p)).toThrow(ConfigError);
  });

  it('plans dynamic templates with scope, and collects waiting for the template and its source', () => {
    const plan = buildPlan(dyn);
    expect(plan.steps.map((s) => s.key)).toEqual(['fan', 'inc', 'count', 'plus2', 'sum']);
    expect(step(plan, 'inc')).toMatchObject({
      inputs: { x: { from: 'mapped', step: 'fan', output: 'items' } },
      scope: { step: 'fan', output: 'items' },
      upstream: ['fan'],
    });
    expect(step(plan, 'plus2')).toMatchObject({
      inputs: { x: { from: 'step', step: 'inc', output: 'result' } },
      scope: { step: 'fan', output: 'items' },
      upstream: ['inc', 'fan'],
    });
    expect(step(plan, 'sum')).toMatchObject({
      inputs: { xs: { from: 'collect', step: 'plus2', output: 'result' } },
      upstream: ['plus2', 'fan'],
    });
    expect(step(plan, 'sum').scope).toBeUndefined();
    expect(step(plan, 'count')).toMatchObject({
      inputs: { xs: { from: 'collect', step: 'fan', output: 'items' } },
      upstream: ['fan'],
    });
    expect(step(plan, 'fan').outputs).toEqual([{ name: 'items', optional: false, dynamic: true }]);
  });

  it('round-trips through JSON unchanged', () => {
    for (const plan of [
      buildPlan(etl),
      buildPlan(dyn),
      buildPlan(etl, undefined, { stepSelection: 'total', reuse: { extract: 'r1' } }),
    ]) {
      expect(JSON.parse(JSON.stringify(plan))).toStrictEqual(plan);
      expect(JSON.parse(renderPlanJson(plan))).toStrictEqual(plan);
    }
  });

  it('accepts an already validated run config', () => {
    const rc = validateRunConfig(etl, { ops: { extract: { config: { limit: 4 } } } });
    expect(step(buildPlan(etl, rc), 'extract').config).toEqual({ limit: 4 });
  });

  it('rejects a bad run config before planning', () => {
    expect(() => buildPlan(etl, { ops: { extract: { config: { limit: 'x' } } } })).toThrow(
      /ops\.extract\.config\.limit: expected number, got string/,
    );
  });
});

describe('buildPlan with a selection', () => {
  it('plans only the selected steps, in order', () => {
    const plan = buildPlan(etl, {}, { stepSelection: 'extract*' });
    expect(plan.selection).toEqual(['extract', 'total', 'total_again']);
    const only = buildPlan(etl, {}, { stepSelection: ['extract'] });
    expect(only.steps.map((s) => s.key)).toEqual(['extract']);
    expect(only.selection).toEqual(['extract']);
  });

  it('needs unselected upstream outputs to be reused', () => {
    expect(() => buildPlan(etl, {}, { stepSelection: 'total' })).toThrow(SelectionError);
    expect(() => buildPlan(etl, {}, { stepSelection: 'total' })).toThrow(
      "step 'total' needs output 'extract.rows', which is not selected and has no stored output; select 'extract' too or re-execute from a run that produced it",
    );
    const plan = buildPlan(etl, {}, { stepSelection: 'total, total_again', reuse: { extract: 'run-1' } });
    expect(plan.steps.map((s) => s.key)).toEqual(['total', 'total_again']);
    expect(step(plan, 'total').inputs.rows).toEqual({ from: 'step', step: 'extract', output: 'rows' });
    expect(step(plan, 'total').upstream).toEqual([]);
    expect(plan.reuse).toEqual({ extract: 'run-1' });
  });

  it('does not require config of unselected steps', () => {
    const needy = op({ name: 'needy', config: z.object({ url: z.string() }), out: z.number(), compute: () => 1 });
    const p = pipeline({ name: 'p', build: () => void [needy(), one()] });
    expect(() => buildPlan(p)).toThrow(/ops\.needy\.config: required/);
    expect(buildPlan(p, {}, { stepSelection: 'one' }).steps.map((s) => s.key)).toEqual(['one']);
    // What is given is still validated.
    expect(() => buildPlan(p, { ops: { needy: { config: { url: 1 } } } }, { stepSelection: 'one' })).toThrow(
      ConfigError,
    );
  });

  it('selects templates together with their dynamic source and collect', () => {
    expect(() => buildPlan(dyn, {}, { stepSelection: 'inc' })).toThrow(/select 'fan' too/);
    expect(() => buildPlan(dyn, {}, { stepSelection: 'sum', reuse: { plus2: 'r', fan: 'r' } })).toThrow(
      /step 'sum' collects 'plus2\.result'.*select 'plus2' and 'fan' too/,
    );
    expect(() => buildPlan(dyn, {}, { stepSelection: 'fan, plus2' })).toThrow(/uses 'inc\.result' of each mapped copy/);
    const plan = buildPlan(dyn, {}, { stepSelection: 'fan*' });
    expect(plan.steps.map((s) => s.key)).toEqual(['fan', 'inc', 'count', 'plus2', 'sum']);
  });

  it('rejects bad selections', () => {
    expect(() => buildPlan(etl, {}, { stepSelection: 'nope' })).toThrow(/unknown step 'nope'/);
    expect(() => buildPlan(etl, {}, { stepSelection: '**' })).toThrow(SelectionError);
  });
});

describe('rendering', () => {
  it('renders text with every step, op, tags and input sources', () => {
    const text = renderPlanText(buildPlan(etl));
    for (const key of ['extract', 'total', 'total_again']) expect(text).toContain(key);
    expect(text.trim().split('\n')).toHaveLength(4);
    expect(text).toMatch(/extract\s+op=extract\s+tags\{queue=io\}/);
    expect(text).toContain('rows <- extract.rows');
    const dynText = renderPlanText(buildPlan(dyn));
    expect(dynText).toMatch(/inc\[\*\]\s+op=inc\s+inputs: x <- fan\.items\[\*\]\s+\(mapped over fan\.items\)/);
    expect(dynText).toContain('xs <- collect(plus2.result)');
  });

  it('renders a DOT digraph with every edge', () => {
    const plan = buildPlan(dyn);
    const dot = renderPlanDot(plan);
    expect(dot).toMatch(/^digraph "dyn" \{\n/);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    for (const s of plan.steps) {
      expect(dot).toContain(`"${s.key}" [`);
      for (const up of s.upstream) expect(dot).toContain(`"${up}" -> "${s.key}"`);
    }
    expect(dot).toContain('"fan" -> "inc" [label="items[*] -> x", style=dashed]');
    expect(dot).toMatch(/"inc" \[label="inc\[\*\]\\n\(inc\)", style=dashed\]/);
    expect(dot).toContain('"plus2" -> "sum" [label="collect result -> xs", style=bold]');
  });

  it('draws reused steps outside the plan', () => {
    const dot = renderPlanDot(buildPlan(etl, {}, { stepSelection: 'total', reuse: { extract: 'run-9' } }));
    expect(dot).toContain('"extract" -> "total" [label="rows -> rows"]');
    expect(dot).toContain('reused from run run-9');
  });
});

describe('plan building speed', () => {
  it('builds a 20,000-step wide plan quickly', () => {
    const nodes: Record<string, OpDefinition> = { root: one.definition };
    const deps: Record<string, Record<string, string>> = {};
    for (let i = 0; i < 20_000; i++) {
      nodes[`s${i}`] = inc.definition;
      deps[`s${i}`] = { x: 'root' };
    }
    const wide = pipeline({ name: 'wide', nodes, deps });
    const started = performance.now();
    const plan = buildPlan(wide);
    const ms = performance.now() - started;
    expect(plan.steps).toHaveLength(20_001);
    // Generous bound for slow CI machines; bench/plan-build.ts measures the real figure.
    expect(ms).toBeLessThan(1000);
  });
});
