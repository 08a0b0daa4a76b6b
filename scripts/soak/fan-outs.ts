/**
 * Large dynamic fan-outs among the soak's lattice (issue 21): a few lattice steps become joins, each collecting the
 * copies of a dynamic step inserted before it (with the lattice step's deps), one copy per item. Seeded apart from
 * the lattice, so the lattice of a (count, seed) stays what it was.
 */
import type { SoakStep } from './graph.js';
import { intBetween, seededRandom } from './rng.js';

/** Fan-outs per graph: one per 8,000 steps, at least one (none below 50 steps). */
export function fanOutCount(count: number): number {
  return count < 50 ? 0 : Math.max(1, Math.round(count / 8_000));
}

/** Items of one fan-out: seeded between count/16 and count/2, at least 50, at most 20,000. */
function itemsOf(random: () => number, count: number): number {
  const low = Math.max(50, Math.floor(count / 16));
  return Math.min(20_000, intBetween(random, low, Math.max(low, Math.floor(count / 2))));
}

/** The lattice with its fan-outs: each join keeps its key and place; its fan-out goes right before it. */
export function withFanOuts(lattice: SoakStep[], count: number, seed: number): SoakStep[] {
  const random = seededRandom(seed ^ 0xfa40);
  const joins = new Map<number, number>();
  const candidates = lattice.flatMap((step, i) => (step.deps.length > 0 ? [i] : []));
  for (let n = fanOutCount(count); n > 0 && candidates.length > joins.size; n--) {
    let at = candidates[intBetween(random, 0, candidates.length - 1)] as number;
    while (joins.has(at)) at = candidates[intBetween(random, 0, candidates.length - 1)] as number;
    joins.set(at, itemsOf(random, count));
  }
  const steps: SoakStep[] = [];
  lattice.forEach((step, i) => {
    const items = joins.get(i);
    if (items === undefined) {
      steps.push(step);
      return;
    }
    const fanOut = `${step.key}_fan`;
    steps.push({ key: fanOut, deps: step.deps, kind: 'fanout', items });
    steps.push({ key: step.key, deps: [fanOut], kind: 'join' });
  });
  return steps;
}
