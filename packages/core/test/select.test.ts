import { buildPlan, op, pipeline, SelectionError, selectSteps } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const one = op({ name: 'one', out: z.number(), compute: () => 1 });
const inc = op({ name: 'inc', ins: { x: z.number() }, out: z.number(), compute: (_c, { x }) => x + 1 });
const add = op({
  name: 'add',
  ins: { x: z.number(), y: z.number() },
  out: z.number(),
  compute: (_c, { x, y }) => x + y,
});

// a -> b -> c -> d, e -> c, x alone
const graph = pipeline({
  name: 'graph',
  build: () => {
    const b = inc.as('b')({ x: one.as('a')() });
    const c = add.as('c')({ x: b, y: one.as('e')() });
    inc.as('d')({ x: c });
    one.as('x')();
  },
});

const sorted = (s: Set<string>) => [...s].sort();

describe('selectSteps', () => {
  it.each([
    ['b', ['b']],
    ['*c', ['a', 'b', 'c', 'e']],
    ['b*', ['b', 'c', 'd']],
    ['+c', ['b', 'c', 'e']],
    ['++d', ['b', 'c', 'd', 'e']],
    ['+++d', ['a', 'b', 'c', 'd', 'e']],
    ['a+', ['a', 'b']],
    ['a++', ['a', 'b', 'c']],
    ['*c+', ['a', 'b', 'c', 'd', 'e']],
    ['+c*', ['b', 'c', 'd', 'e']],
    ['a, x', ['a', 'x']],
    ['  *  c ', ['a', 'b', 'c', 'e']],
    ['d,+d', ['c', 'd']],
    ['*', ['a', 'b', 'c', 'd', 'e', 'x']],
  ])('%s', (expr, expected) => {
    expect(sorted(selectSteps(graph, expr))).toEqual(expected);
  });

  it('unions arrays of expressions', () => {
    expect(sorted(selectSteps(graph, ['a', 'd+', 'x, e']))).toEqual(['a', 'd', 'e', 'x']);
  });

  it('names an unknown step and lists close matches', () => {
    expect(() => selectSteps(graph, 'dd')).toThrow(SelectionError);
    expect(() => selectSteps(graph, '*dd')).toThrow(/unknown step 'dd'; did you mean 'd'\?/);
    const wide = pipeline({ name: 'w', build: () => void [one.as('extract')(), one.as('extract_b')()] });
    expect(() => selectSteps(wide, 'extrct')).toThrow(/did you mean 'extract'/);
  });

  it.each(['', ' ', '**a', 'a**', '*+a', 'a,,b', 'a,', 'a b', 'a;b', '+', 'a[0]', '(a)'])(
    'rejects malformed %j with a SelectionError',
    (expr) => {
      expect(() => selectSteps(graph, expr)).toThrow(SelectionError);
    },
  );

  it('rejects an empty list and non-strings', () => {
    expect(() => selectSteps(graph, [])).toThrow(/empty/);
    expect(() => selectSteps(graph, [5 as unknown as string])).toThrow(SelectionError);
  });

  it('works on a plan-like graph', () => {
    const plan = buildPlan(graph);
    expect(sorted(selectSteps(plan, '*c'))).toEqual(['a', 'b', 'c', 'e']);
    expect(
      sorted(
        selectSteps(
          {
            steps: [
              { key: 'p', upstream: [] },
              { key: 'q', upstream: ['p'] },
            ],
          },
          'p+',
        ),
      ),
    ).toEqual(['p', 'q']);
  });

  it('selects templates by their plain key, with their dynamic source as parent', () => {
    const fan = op({
      name: 'fan',
      outs: { items: { schema: z.number(), dynamic: true } },
      compute: () => ({ items: [] }),
    });
    const sum = op({ name: 'sum', ins: { xs: z.array(z.number()) }, out: z.number(), compute: () => 0 });
    const dyn = pipeline({
      name: 'dyn',
      build: () => {
        sum({
          xs: fan()
            .items.map((x) => inc({ x }))
            .collect(),
        });
      },
    });
    expect(sorted(selectSteps(dyn, 'fan+'))).toEqual(['fan', 'inc', 'sum']);
    expect(sorted(selectSteps(dyn, '+inc'))).toEqual(['fan', 'inc']);
    expect(sorted(selectSteps(dyn, 'inc*'))).toEqual(['inc', 'sum']);
  });
});
