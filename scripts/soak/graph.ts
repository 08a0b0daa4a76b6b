/**
 * The soak's graph as plain data, generated from (steps, seed), and the value every step must produce. The
 * pipeline file builds its ops from this, and the checker recomputes every expected output from it alone.
 */
import { createHash } from 'node:crypto';
import { withFanOuts } from './fan-outs.js';
import { hash32, intBetween, seededRandom } from './rng.js';

export interface SoakStep {
  key: string;
  /** Upstream step keys, in the order the step receives their values (its fan-in list). */
  deps: string[];
  /**
   * 'fanout': a dynamic step of `items` items, each mapped by a step of its own (`<key>_item[<i>]`); 'join': the
   * step collecting those copies (its one dep is the fan-out). See fan-outs.ts.
   */
  kind?: 'fanout' | 'join';
  items?: number;
}

export interface SoakGraph {
  /** Pipeline name: carries the size and seed, so a worker started for another graph refuses the steps. */
  name: string;
  seed: number;
  /** In topological order. */
  steps: SoakStep[];
}

/** Longest sleep of a step, in ms (inclusive); each step sleeps a seeded 0..MAX_STEP_MS. */
export const MAX_STEP_MS = 50;

/**
 * A layered lattice of `count` steps: layer 0 are sources; each later step fans in 1–3 steps of the layer
 * before (neighbours or random picks), sometimes one from two layers up, and every fifth layer starts with a
 * wide join of up to 16 steps. Width is about √count (4..200), so a 20,000-step graph is ~141 wide and deep.
 */
export function buildSoakGraph(count: number, seed: number): SoakGraph {
  if (!Number.isInteger(count) || count < 1) throw new Error(`--steps must be a positive integer, got ${count}`);
  const random = seededRandom(seed);
  const width = Math.max(4, Math.min(200, Math.round(Math.sqrt(count))));
  const layers: string[][] = [];
  const steps: SoakStep[] = [];
  for (let layer = 0; steps.length < count; layer++) {
    const keys: string[] = [];
    const above = layers[layer - 1];
    const twoAbove = layers[layer - 2];
    for (let index = 0; index < width && steps.length < count; index++) {
      const key = `s${layer}_${index}`;
      const deps = new Set<string>();
      if (above) {
        if (index === 0 && layer % 5 === 0) {
          const fanIn = Math.min(above.length, 16);
          for (let i = 0; i < fanIn; i++) deps.add(above[intBetween(random, 0, above.length - 1)] as string);
        } else {
          const r = random();
          const parents = r < 0.5 ? 1 : r < 0.85 ? 2 : 3;
          for (let p = 0; p < parents; p++) {
            const near = Math.min(above.length - 1, Math.max(0, index + intBetween(random, -1, 1)));
            deps.add(above[random() < 0.7 ? near : intBetween(random, 0, above.length - 1)] as string);
          }
          if (twoAbove && random() < 0.1) deps.add(twoAbove[intBetween(random, 0, twoAbove.length - 1)] as string);
        }
      }
      keys.push(key);
      steps.push({ key, deps: [...deps] });
    }
    layers.push(keys);
  }
  return { name: `soak_${count}_${seed}`, seed, steps: withFanOuts(steps, count, seed) };
}

/** The value a step computes: a digest of its key and its inputs' values, in order. */
export function stepValue(key: string, inputs: readonly string[]): string {
  return createHash('sha256').update(key).update('|').update(inputs.join(',')).digest('hex').slice(0, 24);
}

/** How long a step sleeps: seeded per step, 0..MAX_STEP_MS ms. */
export function stepDurationMs(seed: number, key: string): number {
  return hash32(`${seed}:${key}`) % (MAX_STEP_MS + 1);
}

/** Every step's expected value, recomputed from the graph alone. */
export function expectedValues(graph: SoakGraph): Map<string, string> {
  const values = new Map<string, string>();
  const fanOuts = new Map<string, { items: number; inputs: string[] }>();
  for (const step of graph.steps) {
    const inputs = step.deps.map((d) => {
      const v = values.get(d);
      if (v === undefined) throw new Error(`soak graph is not in topological order: ${step.key} before ${d}`);
      return v;
    });
    if (step.kind === 'fanout') fanOuts.set(step.key, { items: step.items ?? 0, inputs });
    const fan = step.kind === 'join' ? fanOuts.get(step.deps[0] as string) : undefined;
    values.set(
      step.key,
      fan ? joinValue(step.key, mappedValues(step.deps[0] as string, fan)) : stepValue(step.key, inputs),
    );
  }
  return values;
}

/** The value of a fan-out's item `i`, from the fan-out's key and inputs. */
export function itemValue(fanOut: string, i: number, inputs: readonly string[]): string {
  return stepValue(`${fanOut}#${i}`, inputs);
}

/** What the step mapping an item returns: a digest of the item's value. */
export function mappedValue(item: string): string {
  return stepValue('item', [item]);
}

/** A join's value: a digest of its key and the mapped copies' values, sorted (collect order is not part of it). */
export function joinValue(key: string, mapped: readonly string[]): string {
  return stepValue(key, [...mapped].sort());
}

function mappedValues(fanOut: string, fan: { items: number; inputs: string[] }): string[] {
  return Array.from({ length: fan.items }, (_, i) => mappedValue(itemValue(fanOut, i, fan.inputs)));
}
