// Shared by the fuzz tests: the guard that times each input and lets only clear errors through, and the
// generators and mutators of untrusted values.
import fc from 'fast-check';

export interface FuzzStats {
  accepted: number;
  rejected: number;
  /** The slowest single input: one slow input is a hang in the making. */
  slowestMs: number;
}

/**
 * Runs inputs, counting the accepted and the rejected ones. A rejection must satisfy `isClearError`; anything else
 * thrown fails the test.
 */
export function fuzzGuard(isClearError: (error: unknown) => boolean): {
  stats: FuzzStats;
  run: (fn: () => unknown) => void;
} {
  const stats: FuzzStats = { accepted: 0, rejected: 0, slowestMs: 0 };
  const run = (fn: () => unknown): void => {
    const t0 = performance.now();
    try {
      fn();
      stats.accepted++;
    } catch (error) {
      if (!isClearError(error)) throw error;
      stats.rejected++;
    } finally {
      stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
    }
  };
  return { stats, run };
}

/** Any JS value, including the odd ones a YAML file or a JS caller can produce. */
export const anyValue = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
});

/** Paths of the nodes of a JSON-like value: object keys, and array indices unless `arrays` is false. */
export function pathsOf(value: unknown, arrays = true, prefix: string[] = [], out: string[][] = []): string[][] {
  out.push(prefix);
  if (typeof value === 'object' && value !== null && (arrays || !Array.isArray(value))) {
    for (const [k, v] of Object.entries(value)) pathsOf(v, arrays, [...prefix, k], out);
  }
  return out;
}

/** A deep copy of `base` with `value` set at `path` (or the key removed). */
export function mutateAt(base: unknown, path: readonly string[], value: unknown, remove: boolean): unknown {
  if (path.length === 0) return remove ? undefined : value;
  const copy: unknown = structuredClone(base);
  const root = typeof copy === 'object' && copy !== null ? copy : {};
  let cur = root as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    const next = Object.hasOwn(cur, key) ? cur[key] : undefined;
    if (typeof next !== 'object' || next === null) {
      const fresh: Record<string, unknown> = {};
      Object.defineProperty(cur, key, { value: fresh, enumerable: true, configurable: true, writable: true });
      cur = fresh;
    } else cur = next as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (remove) delete cur[last];
  // defineProperty, so that `__proto__` becomes an own key as JSON.parse and YAML would make it.
  else Object.defineProperty(cur, last, { value, enumerable: true, configurable: true, writable: true });
  return root;
}
