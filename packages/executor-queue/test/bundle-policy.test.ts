// The bundling policy: which ready steps of one queue's flush share a job, from the backlog, slots and op durations.
import { describe, expect, it } from 'vitest';
import {
  type BundleCandidate,
  type BundleContext,
  MAX_BACKLOG_BUNDLE,
  MAX_QUICK_BUNDLE,
  planBundles,
} from '../src/bundle-policy.js';

const steps = (n: number, op = 'work', eligible = true): BundleCandidate[] =>
  Array.from({ length: n }, () => ({ op, eligible }));

const context = (over: Partial<BundleContext>): BundleContext => ({
  slots: 2,
  backlog: 0,
  quickMeanMs: () => undefined,
  ...over,
});

/** Sizes of the bundles, and how many candidates go alone. */
function shape(bundles: number[][], candidates: number): { sizes: number[]; alone: number } {
  const sizes = bundles.map((b) => b.length);
  return { sizes, alone: candidates - sizes.reduce((a, b) => a + b, 0) };
}

describe('planBundles', () => {
  it('bundles nothing without slots, for a single step, or for a short backlog of ops of unknown duration', () => {
    expect(planBundles(steps(48), context({ slots: 0, backlog: 48 }))).toEqual([]);
    expect(planBundles(steps(1), context({ backlog: 1_000 }))).toEqual([]);
    // 8 * slots is the threshold: 15 waiting on 2 slots is not far beyond what they take.
    expect(planBundles(steps(15), context({ backlog: 15 }))).toEqual([]);
  });

  it('bundles a quarter of a slot share of a deep backlog, up to 16, leads first and in order', () => {
    // 48 waiting on 2 slots: bundles of floor(48 / 8) = 6.
    const six = planBundles(steps(48), context({ backlog: 48 }));
    expect(shape(six, 48)).toEqual({ sizes: Array(8).fill(6), alone: 0 });
    expect(six[0]).toEqual([0, 1, 2, 3, 4, 5]);
    // The backlog counts the steps already waiting, not only this flush's: 3 ready behind 1,000 share one job.
    expect(planBundles(steps(3), context({ backlog: 1_000 }))).toEqual([[0, 1, 2]]);
    const capped = planBundles(steps(40), context({ backlog: 10_000 }));
    expect(shape(capped, 40).sizes).toEqual([MAX_BACKLOG_BUNDLE, MAX_BACKLOG_BUNDLE, 8]);
  });

  it('leaves a last step alone rather than in a bundle of one', () => {
    // 13 steps in bundles of 6: 6, 6 and one on its own.
    expect(shape(planBundles(steps(13), context({ backlog: 48 })), 13)).toEqual({ sizes: [6, 6], alone: 1 });
  });

  it('sizes bundles of quick ops by time (about 16 ms by the slowest op of the flush), at most 64', () => {
    const quick = (means: Record<string, number>) => (op: string) => means[op];
    // 0.5 ms a step: 32 to a bundle, however short the backlog.
    const half = planBundles(steps(70, 'q'), context({ backlog: 1, quickMeanMs: quick({ q: 0.5 }) }));
    expect(shape(half, 70)).toEqual({ sizes: [32, 32, 6], alone: 0 });
    // The slowest quick op of the flush decides: 0.05 and 0.25 ms give bundles of 64.
    const mixed = [...steps(50, 'fast'), ...steps(50, 'slower')];
    const both = planBundles(mixed, context({ backlog: 1, quickMeanMs: quick({ fast: 0.05, slower: 0.25 }) }));
    expect(shape(both, 100).sizes).toEqual([MAX_QUICK_BUNDLE, 36]);
    // Slots do not size quick bundles, but with none live nothing is bundled.
    expect(planBundles(steps(10, 'q'), context({ slots: 0, quickMeanMs: quick({ q: 0.1 }) }))).toEqual([]);
  });

  it('bundles quick and other ops apart, and never an ineligible step', () => {
    const candidates = [...steps(4, 'q'), ...steps(4, 'slow'), ...steps(4, 'q', false)];
    const bundles = planBundles(
      candidates,
      context({ backlog: 4, quickMeanMs: (op) => (op === 'q' ? 0.5 : undefined) }),
    );
    // The quick ones share a job; the slow ones (short backlog) and the ineligible ones go alone.
    expect(bundles).toEqual([[0, 1, 2, 3]]);
    const deep = planBundles(
      candidates,
      context({ backlog: 1_000, quickMeanMs: (op) => (op === 'q' ? 0.5 : undefined) }),
    );
    expect(deep).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
  });
});
