/** Small statistics helpers for the benchmark: medians of repetitions and readable numbers. */

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Smallest and largest value of a non-empty list. */
export function range(values: readonly number[]): { min: number; max: number } {
  if (values.length === 0) throw new RangeError('range of an empty list');
  return { min: Math.min(...values), max: Math.max(...values) };
}

/** Rounds to `digits` decimals (benchmark output keeps a few significant digits, not noise). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Renders rows as a fixed-width text table; the first row is the header. */
export function formatTable(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const [header, ...body] = rows;
  if (!header) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Timings of one workload: every timed run and their medians. */
export interface Throughput {
  workload: string;
  steps: number;
  /** Median over the timed runs. */
  stepsPerSec: number;
  /** Median over the timed runs. */
  msPerStep: number;
  /** Wall time of each timed run, in ms. */
  runsMs: number[];
}

/**
 * Runs `once` one time to warm up (JIT, connections, caches), then `repetitions` times, and summarizes the timed
 * runs by their medians. `once` returns the wall time of the part it times, in ms.
 */
export async function measure(
  workload: string,
  steps: number,
  repetitions: number,
  once: () => Promise<number>,
  options: { warmup?: boolean } = {},
): Promise<Throughput> {
  if (options.warmup !== false) await once();
  const runsMs: number[] = [];
  for (let r = 0; r < repetitions; r++) runsMs.push(await once());
  return {
    workload,
    steps,
    stepsPerSec: median(runsMs.map((ms) => (steps / ms) * 1000)),
    msPerStep: median(runsMs.map((ms) => ms / steps)),
    runsMs,
  };
}
