/** Invariant tallies: each check of each invariant passes or fails; failures keep a few examples. */

export interface InvariantResult {
  name: string;
  /** What it asserts, for the report. */
  description: string;
  passed: number;
  failed: number;
  examples: string[];
  /** Reported, but a failure does not fail the soak (a known gap, tracked until it is fixed). */
  watch: boolean;
}

const MAX_EXAMPLES = 5;

export class Invariants {
  private readonly results = new Map<string, InvariantResult>();

  /** Declares an invariant, so it is reported even when nothing was checked. */
  define(name: string, description: string, options: { watch?: boolean } = {}): void {
    if (!this.results.has(name)) {
      this.results.set(name, { name, description, passed: 0, failed: 0, examples: [], watch: options.watch === true });
    }
  }

  check(name: string, ok: boolean, example?: () => string): void {
    const result = this.results.get(name);
    if (!result) throw new Error(`internal: invariant '${name}' is not defined`);
    if (ok) result.passed++;
    else {
      result.failed++;
      if (example && result.examples.length < MAX_EXAMPLES) result.examples.push(example());
    }
  }

  list(): InvariantResult[] {
    return [...this.results.values()];
  }

  /** True when no invariant that counts has a failure (and every one of them was checked at least once). */
  get passed(): boolean {
    return this.list().every((r) => r.watch || (r.failed === 0 && r.passed > 0));
  }
}

/** `name: N passed, N failed` per invariant (watched ones marked), plus the first examples of each failure. */
export function formatInvariants(results: readonly InvariantResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const note = r.watch
      ? ' (watch: reported, does not fail the soak)'
      : r.passed + r.failed === 0
        ? ' (never checked)'
        : '';
    lines.push(`${r.name}: ${r.passed} passed, ${r.failed} failed${note}`);
    for (const example of r.examples) lines.push(`    e.g. ${example}`);
  }
  return lines;
}
