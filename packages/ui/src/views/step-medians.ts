import type { Instance } from '@stepwise/core';

/** `key[mappingKey]` -> `key`: copies of a fan-out share their template's median. */
export function planKeyOf(stepKey: string): string {
  const at = stepKey.indexOf('[');
  return at === -1 ? stepKey : stepKey.slice(0, at);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Median step durations (by plan key) over a pipeline's last finished runs, cached a few seconds per pipeline so a
 * run page polled by many tabs reads storage once.
 */
export class StepMedians {
  private readonly cache = new Map<string, { at: number; value: Promise<Map<string, number>> }>();

  constructor(
    private readonly instance: Instance,
    private readonly runs: number,
    private readonly now: () => number,
    private readonly ttlMs = 10_000,
  ) {}

  of(pipeline: string): Promise<Map<string, number>> {
    const hit = this.cache.get(pipeline);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.compute(pipeline);
    this.cache.set(pipeline, { at: this.now(), value });
    value.catch(() => this.cache.delete(pipeline));
    return value;
  }

  private async compute(pipeline: string): Promise<Map<string, number>> {
    const runs = await this.instance.storage.listRuns({ pipeline, status: ['SUCCESS', 'FAILURE'], limit: this.runs });
    const durations = new Map<string, number[]>();
    for (const run of runs) {
      const events = await this.instance.storage.getEvents(run.runId, { types: ['STEP_SUCCESS'] });
      for (const e of events) {
        if (e.type !== 'STEP_SUCCESS' || e.stepKey === undefined) continue;
        const key = planKeyOf(e.stepKey);
        const list = durations.get(key) ?? [];
        list.push(e.data.durationMs);
        durations.set(key, list);
      }
    }
    return new Map([...durations].map(([key, list]) => [key, median(list)]));
  }
}
