import { DefinitionError, GraphError, op, pipeline } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const source = op({ name: 'source', out: z.number(), compute: () => 1 });
const inc = op({ name: 'inc', ins: { x: z.number() }, out: z.number(), compute: (_c, { x }) => x + 1 });
const fan = op({
  name: 'fan',
  outs: { items: { schema: z.number(), dynamic: true } },
  compute: () => ({ items: [1, 2, 3] }),
});
const sum = op({ name: 'sum', ins: { xs: z.array(z.number()) }, out: z.number(), compute: (_c, { xs }) => xs.length });

/** Calls `fn`, expecting it to throw an error of `type`, and returns the error. */
function thrown<E extends Error>(type: new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected ${type.name} to be thrown`);
}

describe('graph errors at definition time', () => {
  it('rejects a cycle (nodes/deps form) and names the steps in it', () => {
    const err = thrown(GraphError, () =>
      pipeline({
        name: 'cyclic',
        nodes: { a: inc.definition, b: inc.definition, c: inc.definition, s: source.definition },
        deps: { a: { x: 'c' }, b: { x: 'a' }, c: { x: 'b' } },
      }),
    );
    expect(err.code).toBe('GRAPH_INVALID');
    expect(err.message).toMatch(/pipeline 'cyclic' has a cycle through steps 'a', 'b', 'c'/);
    expect(err.message).not.toContain("'s'");
  });

  it('rejects an unknown input (build and deps forms)', () => {
    const built = thrown(GraphError, () => pipeline({ name: 'p', build: () => inc({ y: source() } as never) }));
    expect(built.message).toMatch(/step 'inc' has no input 'y' \(op 'inc' declares 'x'\)/);
    const declared = thrown(GraphError, () =>
      pipeline({ name: 'p', nodes: { s: source.definition, i: inc.definition }, deps: { i: { y: 's' } } }),
    );
    expect(declared.message).toMatch(/step 'i' has no input 'y'/);
  });

  it('rejects a duplicate step name and suggests an alias', () => {
    const err = thrown(GraphError, () =>
      pipeline({
        name: 'p',
        build: () => {
          const s = source();
          inc({ x: s });
          inc({ x: s });
        },
      }),
    );
    expect(err.message).toMatch(/duplicate step name 'inc'.*inc\.as\('inc_2'\)/);
  });

  it('rejects an input fed by an unknown step or an unknown output', () => {
    const step = thrown(GraphError, () =>
      pipeline({ name: 'p', nodes: { i: inc.definition }, deps: { i: { x: 'nowhere' } } }),
    );
    expect(step.message).toMatch(/input 'i\.x' is fed by unknown step 'nowhere'/);
    const output = thrown(GraphError, () =>
      pipeline({ name: 'p', nodes: { s: source.definition, i: inc.definition }, deps: { i: { x: 's.nope' } } }),
    );
    expect(output.message).toMatch(/input 'i\.x' is fed by unknown output 's\.nope' \(outputs: 'result'\)/);
  });

  it('rejects a dynamic output used directly', () => {
    const built = thrown(GraphError, () => pipeline({ name: 'p', build: () => inc({ x: fan().items as never }) }));
    expect(built.message).toMatch(/dynamic output 'fan\.items' directly; consume it with \.map\(fn\) or \.collect\(\)/);
    const declared = thrown(GraphError, () =>
      pipeline({ name: 'p', nodes: { fan: fan.definition, i: inc.definition }, deps: { i: { x: 'fan.items' } } }),
    );
    expect(declared.message).toMatch(/takes dynamic output 'fan\.items' directly/);
  });

  it('rejects a mapped output used outside its map', () => {
    const err = thrown(GraphError, () =>
      pipeline({
        name: 'p',
        build: () => {
          let leaked: ReturnType<typeof inc> | undefined;
          fan().items.map((x) => {
            leaked = inc({ x });
            return leaked;
          });
          inc.as('outside')({ x: leaked });
        },
      }),
    );
    expect(err.message).toMatch(/uses 'inc\.result', which runs once per item of 'fan\.items', outside its \.map\(\)/);
  });

  it('rejects a collect inside the map it collects from', () => {
    const err = thrown(GraphError, () =>
      pipeline({
        name: 'p',
        build: () => {
          const { items } = fan();
          items.map(() => sum({ xs: items.collect() }));
        },
      }),
    );
    expect(err.message).toMatch(/\.collect\(\)/);
  });

  it('rejects a plain value where a handle is expected', () => {
    const err = thrown(GraphError, () => pipeline({ name: 'p', build: () => inc({ x: 5 as never }) }));
    expect(err.message).toMatch(/input 'inc\.x' was given a plain value.*ops\.inc\.inputs\.x/);
  });

  it('rejects an op called outside build()', () => {
    const err = thrown(DefinitionError, () => inc());
    expect(err.code).toBe('DEFINITION_INVALID');
    expect(err.message).toMatch(/op 'inc' was called outside a pipeline's build\(\)/);
  });

  it('rejects an empty pipeline and deps naming an unknown step', () => {
    expect(() => pipeline({ name: 'empty', build: () => {} })).toThrow(/has no steps/);
    expect(() => pipeline({ name: 'p', nodes: { s: source.definition }, deps: { ghost: { x: 's' } } })).toThrow(
      /deps name unknown step 'ghost'/,
    );
  });
});
