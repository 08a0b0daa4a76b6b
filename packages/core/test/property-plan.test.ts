import {
  buildPlan,
  type ExecutionPlan,
  type OpDefinition,
  op,
  type PipelineDefinition,
  pipeline,
  SelectionError,
  selectSteps,
} from '@stepwise/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

// Property tests of the plan builder and the step-selection parser: random DAGs in the `nodes`/`deps` form,
// random selections over them, and arbitrary strings fed to the parser. Seeds are fixed so a failure reproduces.

const num = z.number();
const source = op({ name: 'source', out: num, compute: () => 1 });
const unary = op({ name: 'unary', ins: { a: num }, out: num, compute: (_c, { a }) => a });
const binary = op({ name: 'binary', ins: { a: num, b: num }, out: num, compute: (_c, { a, b }) => a + b });
const fanIn = op({ name: 'fan_in', ins: { xs: z.array(num) }, out: num, compute: (_c, { xs }) => xs.length });
const split = op({
  name: 'split',
  ins: { a: num },
  outs: { left: num, right: num },
  compute: (_c, { a }) => ({ left: a, right: a }),
});
const configured = op({
  name: 'configured',
  ins: { a: num },
  config: z.object({ factor: z.number().default(2), label: z.string().optional() }),
  out: num,
  retry: { maxRetries: 1, delayMs: 5 },
  tags: { queue: 'q1' },
  compute: (ctx, { a }) => a * ctx.config.factor,
});

/** An edge source as the deps form writes it: `node` (its result) or `node.output`. */
interface Ref {
  node: number;
  output: string;
}

type Wiring =
  | { kind: 'source' }
  | { kind: 'unary' | 'configured' | 'split'; a: Ref }
  | { kind: 'binary'; a: Ref; b: Ref }
  | { kind: 'fanIn'; xs: Ref[] };

interface DagSpec {
  names: string[];
  wiring: Wiring[];
  /** Order in which nodes are declared to pipeline() (a permutation of indices). */
  declare: number[];
}

const OPS: Record<Wiring['kind'], OpDefinition> = {
  source: source.definition,
  unary: unary.definition,
  binary: binary.definition,
  fanIn: fanIn.definition,
  split: split.definition,
  configured: configured.definition,
};

const nameArb = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,7}$/);

/** Node i is wired only to nodes < i, so every generated graph is acyclic. */
function dagArb(maxNodes = 14): fc.Arbitrary<DagSpec> {
  return fc.integer({ min: 1, max: maxNodes }).chain((n) =>
    fc
      .tuple(
        fc.uniqueArray(nameArb, { minLength: n, maxLength: n }),
        fc.array(fc.nat(), { minLength: n * 6, maxLength: n * 6 }),
        fc.shuffledSubarray(
          Array.from({ length: n }, (_, i) => i),
          { minLength: n, maxLength: n },
        ),
      )
      .map(([names, rand, declare]) => {
        const wiring: Wiring[] = [];
        let r = 0;
        const next = () => rand[r++] as number;
        const ref = (below: number): Ref => {
          const node = next() % below;
          const up = wiring[node] as Wiring;
          const output = up.kind === 'split' ? (next() % 2 === 0 ? 'left' : 'right') : 'result';
          return { node, output };
        };
        for (let i = 0; i < n; i++) {
          if (i === 0) {
            wiring.push({ kind: 'source' });
            continue;
          }
          const pick = next() % 6;
          if (pick === 0) wiring.push({ kind: 'source' });
          else if (pick === 1) wiring.push({ kind: 'unary', a: ref(i) });
          else if (pick === 2) wiring.push({ kind: 'binary', a: ref(i), b: ref(i) });
          else if (pick === 3) {
            const count = 1 + (next() % Math.min(4, i + 1));
            wiring.push({ kind: 'fanIn', xs: Array.from({ length: count }, () => ref(i)) });
          } else if (pick === 4) wiring.push({ kind: 'split', a: ref(i) });
          else wiring.push({ kind: 'configured', a: ref(i) });
        }
        return { names, wiring, declare };
      }),
  );
}

function depString(spec: DagSpec, ref: Ref): string {
  const name = spec.names[ref.node] as string;
  return ref.output === 'result' ? name : `${name}.${ref.output}`;
}

function refsOf(w: Wiring): Ref[] {
  switch (w.kind) {
    case 'source':
      return [];
    case 'binary':
      return [w.a, w.b];
    case 'fanIn':
      return w.xs;
    default:
      return [w.a];
  }
}

function toPipeline(spec: DagSpec, name = 'prop'): PipelineDefinition {
  const nodes: Record<string, OpDefinition> = {};
  const deps: Record<string, Record<string, string | string[]>> = {};
  for (const i of spec.declare) {
    const key = spec.names[i] as string;
    const w = spec.wiring[i] as Wiring;
    nodes[key] = OPS[w.kind];
    if (w.kind === 'source') continue;
    if (w.kind === 'fanIn') deps[key] = { xs: w.xs.map((r) => depString(spec, r)) };
    else if (w.kind === 'binary') deps[key] = { a: depString(spec, w.a), b: depString(spec, w.b) };
    else deps[key] = { a: depString(spec, w.a) };
  }
  return pipeline({ name, nodes, deps });
}

/** Parents by name, from the spec (the reference the plan and the parser are checked against). */
function parentsOf(spec: DagSpec): Map<string, Set<string>> {
  const parents = new Map<string, Set<string>>();
  spec.names.forEach((name, i) => {
    parents.set(name, new Set(refsOf(spec.wiring[i] as Wiring).map((r) => spec.names[r.node] as string)));
  });
  return parents;
}

function childrenOf(parents: Map<string, Set<string>>): Map<string, Set<string>> {
  const children = new Map<string, Set<string>>();
  for (const key of parents.keys()) children.set(key, new Set());
  for (const [key, ups] of parents) for (const u of ups) children.get(u)?.add(key);
  return children;
}

/** Nodes within `depth` edges of `start` (start excluded), breadth first. */
function within(start: string, depth: number, edges: Map<string, Set<string>>): Set<string> {
  const out = new Set<string>();
  let frontier = [start];
  for (let level = 0; level < depth && frontier.length > 0; level++) {
    const next: string[] = [];
    for (const key of frontier) {
      for (const n of edges.get(key) ?? []) {
        if (n === start || out.has(n)) continue;
        out.add(n);
        next.push(n);
      }
    }
    frontier = next;
  }
  return out;
}

const roundTrip = (plan: ExecutionPlan) => JSON.parse(JSON.stringify(plan)) as ExecutionPlan;

const RUNS = 300;

describe('buildPlan on random DAGs', () => {
  it('orders steps topologically, wires every input to its upstream, and JSON round-trips', () => {
    fc.assert(
      fc.property(dagArb(), (spec) => {
        const p = toPipeline(spec);
        const plan = buildPlan(p);
        const parents = parentsOf(spec);
        const index = new Map(plan.steps.map((s, i) => [s.key, i]));
        // Every node is a step, once, under its own name.
        expect([...index.keys()].sort()).toEqual([...spec.names].sort());
        expect(plan.steps.length).toBe(spec.names.length);
        for (const step of plan.steps) {
          // Every upstream key exists and comes earlier.
          for (const up of step.upstream) {
            expect(index.has(up)).toBe(true);
            expect(index.get(up) as number).toBeLessThan(index.get(step.key) as number);
          }
          expect(new Set(step.upstream)).toEqual(parents.get(step.key));
          expect(step.upstream.length).toBe(new Set(step.upstream).size);
          // Wiring matches the spec, fan-in sources in the declared order.
          const w = spec.wiring[spec.names.indexOf(step.key)] as Wiring;
          const asPlan = (r: Ref) => ({ step: spec.names[r.node], output: r.output });
          if (w.kind === 'fanIn') expect(step.inputs.xs).toEqual({ from: 'fanIn', sources: w.xs.map(asPlan) });
          else if (w.kind === 'binary') {
            expect(step.inputs.a).toEqual({ from: 'step', ...asPlan(w.a) });
            expect(step.inputs.b).toEqual({ from: 'step', ...asPlan(w.b) });
          } else if (w.kind !== 'source') expect(step.inputs.a).toEqual({ from: 'step', ...asPlan(w.a) });
          else expect(step.inputs).toEqual({});
          if (w.kind === 'configured') expect(step.config).toEqual({ factor: 2 });
          else expect(step.config).toBeNull();
        }
        expect(roundTrip(plan)).toEqual(plan);
        expect(plan.selection).toBeNull();
      }),
      { seed: 0x5eed01, numRuns: RUNS },
    );
  });

  it('gives the same keys and wiring whatever order the nodes are declared in, and the same plan twice', () => {
    fc.assert(
      fc.property(dagArb(), fc.nat(), (spec, salt) => {
        const a = buildPlan(toPipeline(spec));
        expect(buildPlan(toPipeline(spec))).toEqual(a);
        const reversed = { ...spec, declare: [...spec.declare].reverse() };
        const rotated = {
          ...spec,
          declare: spec.declare.map((_, i) => spec.declare[(i + salt) % spec.declare.length] as number),
        };
        for (const other of [reversed, rotated]) {
          const b = buildPlan(toPipeline(other));
          const byKey = (plan: ExecutionPlan) =>
            Object.fromEntries(plan.steps.map((s) => [s.key, { ...s, upstream: [...s.upstream].sort() }]));
          expect(byKey(b)).toEqual(byKey(a));
        }
      }),
      { seed: 0x5eed02, numRuns: RUNS },
    );
  });

  it('plans exactly an ancestor-closed selection, and any selection once the rest is reused', () => {
    fc.assert(
      fc.property(dagArb(), fc.nat(), (spec, pick) => {
        const p = toPipeline(spec);
        const target = spec.names[pick % spec.names.length] as string;
        const full = buildPlan(p);
        const order = full.steps.map((s) => s.key);

        const closed = buildPlan(p, {}, { stepSelection: `*${target}` });
        const expected = new Set([target, ...within(target, Number.POSITIVE_INFINITY, parentsOf(spec))]);
        expect(new Set(closed.steps.map((s) => s.key))).toEqual(expected);
        expect(closed.selection).toEqual(order.filter((k) => expected.has(k)));
        expect(roundTrip(closed)).toEqual(closed);

        // A downstream selection needs the outputs of the rest: without them it is a SelectionError...
        const down = selectSteps(p, `${target}*`);
        const reuse = Object.fromEntries(order.filter((k) => !down.has(k)).map((k) => [k, 'parent-run']));
        const needsOutside = [...down].some((k) => [...(parentsOf(spec).get(k) ?? [])].some((u) => !down.has(u)));
        if (needsOutside) expect(() => buildPlan(p, {}, { stepSelection: `${target}*` })).toThrow(SelectionError);
        // ...and with them, the plan keeps only the selected steps and edges between them.
        const partial = buildPlan(p, {}, { stepSelection: `${target}*`, reuse });
        expect(new Set(partial.steps.map((s) => s.key))).toEqual(down);
        for (const s of partial.steps) for (const u of s.upstream) expect(down.has(u)).toBe(true);
        expect(partial.reuse).toEqual(reuse);
      }),
      { seed: 0x5eed03, numRuns: RUNS },
    );
  });
});

type Clause = { before: string; name: string; after: string };

const clauseArb = (names: string[]) =>
  fc.record({
    before: fc.constantFrom('', '*', '+', '++', '+++'),
    name: fc.constantFrom(...names),
    after: fc.constantFrom('', '*', '+', '++', '+++'),
  });

const depthOf = (op: string) => (op === '*' ? Number.POSITIVE_INFINITY : op.length);

describe('selectSteps on random DAGs', () => {
  it('selects each clause closure exactly, and the union of a comma list', () => {
    fc.assert(
      fc.property(
        dagArb().chain((spec) =>
          fc.tuple(fc.constant(spec), fc.array(clauseArb(spec.names), { minLength: 1, maxLength: 4 }), fc.boolean()),
        ),
        ([spec, clauses, spaced]: [DagSpec, Clause[], boolean]) => {
          const p = toPipeline(spec);
          const parents = parentsOf(spec);
          const children = childrenOf(parents);
          const expected = new Set<string>();
          for (const c of clauses) {
            const one = new Set([
              c.name,
              ...within(c.name, depthOf(c.before), parents),
              ...within(c.name, depthOf(c.after), children),
            ]);
            expect(selectSteps(p, `${c.before}${c.name}${c.after}`)).toEqual(one);
            for (const k of one) expect(spec.names).toContain(k);
            for (const k of one) expected.add(k);
          }
          const text = clauses.map((c) => `${c.before}${c.name}${c.after}`).join(spaced ? ' , ' : ',');
          expect(selectSteps(p, text)).toEqual(expected);
          expect(
            selectSteps(
              p,
              clauses.map((c) => `${c.before}${c.name}${c.after}`),
            ),
          ).toEqual(expected);
          // The same selection over the built plan (a StepGraphLike) agrees with the pipeline's.
          expect(selectSteps(buildPlan(p), text)).toEqual(expected);
        },
      ),
      { seed: 0x5eed04, numRuns: RUNS },
    );
  });

  it('keeps the closure laws: *x holds every ancestor, x* every descendant, +x is x and its parents', () => {
    fc.assert(
      fc.property(dagArb(), fc.nat(), (spec, pick) => {
        const p = toPipeline(spec);
        const x = spec.names[pick % spec.names.length] as string;
        const parents = parentsOf(spec);
        const up = selectSteps(p, `*${x}`);
        const down = selectSteps(p, `${x}*`);
        // Closed: every parent of a member of *x is a member; every child of a member of x* is a member.
        for (const k of up) for (const u of parents.get(k) ?? []) expect(up.has(u)).toBe(true);
        for (const [k, ups] of parents) if ([...ups].some((u) => down.has(u))) expect(down.has(k)).toBe(true);
        expect(selectSteps(p, `+${x}`)).toEqual(new Set([x, ...(parents.get(x) ?? [])]));
        expect(selectSteps(p, `*${x}*`)).toEqual(new Set([...up, ...down]));
        // Levels grow monotonically and stop at the full closure.
        let previous = selectSteps(p, x);
        for (let depth = 1; depth <= spec.names.length; depth++) {
          const cur = selectSteps(p, `${'+'.repeat(depth)}${x}`);
          for (const k of previous) expect(cur.has(k)).toBe(true);
          for (const k of cur) expect(up.has(k)).toBe(true);
          previous = cur;
        }
        expect(previous).toEqual(up);
        expect(selectSteps(p, '*')).toEqual(new Set(spec.names));
      }),
      { seed: 0x5eed05, numRuns: RUNS },
    );
  });
});

// One fixed pipeline for the parser fuzz: names with '-' and '_' and digits, so near-valid inputs hit real names.
const fuzzSpec: DagSpec = {
  names: ['extract', 'load-2', '_tmp', 'a', 'total'],
  wiring: [
    { kind: 'source' },
    { kind: 'unary', a: { node: 0, output: 'result' } },
    { kind: 'binary', a: { node: 0, output: 'result' }, b: { node: 1, output: 'result' } },
    { kind: 'source' },
    {
      kind: 'fanIn',
      xs: [
        { node: 2, output: 'result' },
        { node: 3, output: 'result' },
      ],
    },
  ],
  declare: [0, 1, 2, 3, 4],
};
const fuzzPipeline = toPipeline(fuzzSpec, 'fuzz');
const fuzzPlan = buildPlan(fuzzPipeline);

/** A clause that is usually well formed, sometimes with a near-miss name, operator or junk glued on. */
const nearClauseArb = fc.oneof(
  { weight: 6, arbitrary: clauseArb(fuzzSpec.names).map((c) => `${c.before}${c.name}${c.after}`) },
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constantFrom(...fuzzSpec.names, 'extrac', 'Total', 'load', 'load-', '-a', '0', ''),
          fc.constantFrom('*', '+', '++', ' ', '\t', '\n', '**', '+*', '*+', '.', '[0]', '\u00a0', '\u200b'),
          fc.string({ maxLength: 3 }),
        ),
        { maxLength: 6 },
      )
      .map((parts) => parts.join('')),
  },
);

/** Near-valid expressions: comma lists of mostly valid clauses, with stray or doubled separators now and then. */
const nearValidArb = fc
  .tuple(fc.array(nearClauseArb, { minLength: 1, maxLength: 4 }), fc.constantFrom(',', ', ', ' ,', ',,', ';', ''))
  .map(([clauses, sep]) => clauses.join(sep));

/** Calls the parser; returns 'ok' or 'selection-error', rethrows anything else (that is the failure). */
function parse(expr: unknown, target: PipelineDefinition | ExecutionPlan = fuzzPipeline): 'ok' | 'selection-error' {
  try {
    const selected = selectSteps(target, expr as string);
    for (const k of selected) if (!fuzzSpec.names.includes(k)) throw new Error(`selected unknown key ${k}`);
    return 'ok';
  } catch (error) {
    if (error instanceof SelectionError && error.code === 'SELECTION_INVALID' && error.message.length > 0) {
      return 'selection-error';
    }
    throw error;
  }
}

describe('the selection parser on arbitrary input', () => {
  it('throws only SelectionError, never hangs, on 12,000+ strings (ascii, unicode, near-valid)', () => {
    const seen = { ok: 0, 'selection-error': 0 };
    let slowest = 0;
    const timed = (expr: unknown, target?: PipelineDefinition | ExecutionPlan) => {
      const t0 = performance.now();
      seen[parse(expr, target)]++;
      slowest = Math.max(slowest, performance.now() - t0);
    };
    const started = performance.now();
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => timed(s)),
      { seed: 101, numRuns: 4_000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => timed(s)),
      { seed: 102, numRuns: 3_000 },
    );
    fc.assert(
      fc.property(nearValidArb, (s) => timed(s, fuzzPlan)),
      { seed: 103, numRuns: 5_000 },
    );
    fc.assert(
      fc.property(fc.array(nearValidArb, { maxLength: 4 }), (list) => timed(list)),
      { seed: 104, numRuns: 1_000 },
    );
    // Not strings at all (a JS caller, a YAML value): still a SelectionError.
    fc.assert(
      fc.property(fc.anything(), (v) => timed(v)),
      { seed: 105, numRuns: 1_000 },
    );
    // Long inputs: linear, no catastrophic backtracking in the clause pattern.
    for (const long of [
      '+'.repeat(50_000),
      `${'+'.repeat(50_000)}a`,
      `a${' '.repeat(50_000)}+x`,
      `*${'a'.repeat(50_000)} ${'a'.repeat(50_000)}`,
      Array.from({ length: 20_000 }, () => 'a').join(','),
      `${'extract,'.repeat(10_000)},`,
    ]) {
      timed(long);
    }
    // The near-valid generator must reach both outcomes, or the test is not testing the parser.
    expect(seen.ok).toBeGreaterThan(500);
    expect(seen['selection-error']).toBeGreaterThan(500);
    expect(slowest).toBeLessThan(1_000);
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('accepts every well-formed clause over real names', () => {
    fc.assert(
      fc.property(clauseArb(fuzzSpec.names), fc.constantFrom('', ' ', '  '), (c, pad) => {
        expect(parse(`${pad}${c.before}${pad}${c.name}${pad}${c.after}${pad}`)).toBe('ok');
      }),
      { seed: 106, numRuns: 500 },
    );
  });
});
