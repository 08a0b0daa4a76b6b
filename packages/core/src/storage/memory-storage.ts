import { NotFoundError } from '../errors/index.js';
import type { StepwiseEvent, StoredEvent } from '../events/events.js';
import type { EventFilter, RunFilter, RunPatch, RunRecord, RunStatus, RunStorage } from './run-storage.js';

/**
 * A copy of a run record that shares its plan: plans are never changed once built, and a 100,000-step plan is
 * too large to clone on every read.
 */
function copyRun(run: RunRecord): RunRecord {
  return { ...run, tags: { ...run.tags }, runConfig: structuredClone(run.runConfig) };
}

/** Run storage in memory, for ephemeral instances (tests, `executePipeline` without an instance). */
export class MemoryRunStorage implements RunStorage {
  private readonly runs = new Map<string, RunRecord>();
  private readonly events = new Map<string, StoredEvent[]>();

  async init(): Promise<void> {}

  async createRun(run: RunRecord): Promise<void> {
    this.runs.set(run.runId, copyRun(run));
    this.events.set(run.runId, []);
  }

  async updateRun(runId: string, patch: RunPatch): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) throw new NotFoundError(`run '${runId}' not found`);
    Object.assign(run, structuredClone(patch), { updatedAt: Date.now() });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const run = this.runs.get(runId);
    return run && copyRun(run);
  }

  async getRunStatus(runId: string): Promise<{ status: RunStatus; updatedAt: number } | undefined> {
    const run = this.runs.get(runId);
    return run && { status: run.status, updatedAt: run.updatedAt };
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const out = [...this.runs.values()]
      .filter((r) => !filter.status || filter.status.includes(r.status))
      .filter((r) => !filter.pipeline || r.pipeline === filter.pipeline)
      .filter((r) => Object.entries(filter.tags ?? {}).every(([k, v]) => r.tags[k] === v))
      .sort((a, b) => b.createdAt - a.createdAt);
    return out.slice(0, filter.limit ?? 100).map(copyRun);
  }

  async appendEvents(events: readonly StepwiseEvent[]): Promise<void> {
    for (const e of events) {
      let log = this.events.get(e.runId);
      if (!log) {
        log = [];
        this.events.set(e.runId, log);
      }
      log.push({ ...e, seq: log.length + 1 } as StoredEvent);
    }
  }

  async getEvents(runId: string, filter: EventFilter = {}): Promise<StoredEvent[]> {
    const after = filter.afterSeq ?? 0;
    const out = (this.events.get(runId) ?? []).filter(
      (e) =>
        e.seq > after &&
        (filter.stepKey === undefined || e.stepKey === filter.stepKey) &&
        (!filter.types || filter.types.includes(e.type)),
    );
    return filter.limit === undefined ? out : out.slice(0, filter.limit);
  }

  async close(): Promise<void> {}
}
