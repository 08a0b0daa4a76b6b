import { CoordinatorSupersededError, NotFoundError, StorageError } from '../errors/index.js';
import type { StepwiseEvent, StoredEvent } from '../events/events.js';
import { MemoryScheduleStore } from './memory-schedule-store.js';
import {
  decideLease,
  type Fence,
  fenceHolds,
  type LeaseAnswer,
  type LeaseRequest,
  type RunLease,
} from './run-lease.js';
import {
  type DaemonHeartbeat,
  type DequeueChooser,
  type EventFilter,
  IN_PROGRESS_RUN_STATUSES,
  type QueueRunView,
  type RunClaim,
  type RunExpectation,
  type RunFilter,
  type RunPatch,
  type RunQueueWatch,
  type RunRecord,
  type RunStatus,
  type RunStorage,
  TERMINAL_RUN_STATUSES,
} from './run-storage.js';

/**
 * A copy of a run record that shares its plan: plans are never changed once built, and a 100,000-step plan is
 * too large to clone on every read.
 */
function copyRun(run: RunRecord): RunRecord {
  return { ...run, tags: { ...run.tags }, runConfig: structuredClone(run.runConfig) };
}

/** Run storage in memory, for ephemeral instances (tests, `executePipeline` without an instance). */
export class MemoryRunStorage implements RunStorage {
  readonly schedules = new MemoryScheduleStore();
  private readonly runs = new Map<string, RunRecord>();
  /** Each run's events as written (not copied: events are never changed once made); seq is the index + 1. */
  private readonly events = new Map<string, StepwiseEvent[]>();
  private readonly order = new Map<string, number>();
  private readonly daemons = new Map<string, DaemonHeartbeat>();
  private readonly leases = new Map<string, RunLease>();
  private readonly queueWatchers = new Set<() => void>();

  async init(): Promise<void> {}

  async createRun(run: RunRecord): Promise<void> {
    // As the SQL backends: a second create would lose the first run's record and log.
    if (this.runs.has(run.runId)) throw new StorageError(`run '${run.runId}' already exists in memory storage`);
    this.runs.set(run.runId, copyRun(run));
    this.events.set(run.runId, []);
    this.order.set(run.runId, this.order.size + 1);
    if (run.status === 'QUEUED') this.queueChanged();
  }

  async createRunIfAbsent(run: RunRecord): Promise<{ created: boolean; run: RunRecord }> {
    const stored = this.runs.get(run.runId);
    if (stored) return { created: false, run: copyRun(stored) };
    await this.createRun(run);
    return { created: true, run };
  }

  async updateRun(runId: string, patch: RunPatch, fence?: Fence): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) throw new NotFoundError(`run '${runId}' not found`);
    this.checkFence(runId, fence);
    const before = run.status;
    // Strictly later: a claim conditional on updatedAt must see any update, even in the same millisecond.
    Object.assign(run, structuredClone(patch), { updatedAt: Math.max(Date.now(), run.updatedAt + 1) });
    if (run.status !== before && (run.status === 'QUEUED' || TERMINAL_RUN_STATUSES.includes(run.status))) {
      this.queueChanged();
    }
  }

  watchRunQueue(onChange: () => void): RunQueueWatch {
    this.queueWatchers.add(onChange);
    return { close: async () => void this.queueWatchers.delete(onChange) };
  }

  /** After the caller's write has returned, as a SQL backend notifies at commit. */
  private queueChanged(): void {
    for (const watcher of this.queueWatchers) setImmediate(watcher);
  }

  async transitionRun(runId: string, expected: RunExpectation, patch: RunPatch): Promise<boolean> {
    const run = this.runs.get(runId);
    if (!run) return false;
    if (expected.status && !expected.status.includes(run.status)) return false;
    if (expected.updatedAt !== undefined && run.updatedAt !== expected.updatedAt) return false;
    if (expected.claimOwner !== undefined && run.claim?.owner !== expected.claimOwner) return false;
    await this.updateRun(runId, patch);
    return true;
  }

  async dequeueRuns(choose: DequeueChooser, claim: RunClaim): Promise<string[]> {
    const view = (r: RunRecord): QueueRunView => ({
      runId: r.runId,
      status: r.status,
      tags: { ...r.tags },
      order: this.order.get(r.runId) ?? 0,
    });
    const all = [...this.runs.values()].map(view).sort((a, b) => a.order - b.order);
    const queued = all.filter((r) => r.status === 'QUEUED');
    if (queued.length === 0) return [];
    const inProgress = all.filter((r) => IN_PROGRESS_RUN_STATUSES.includes(r.status));
    // Synchronous from the read to the last write: another call cannot interleave.
    const out: string[] = [];
    for (const runId of choose(queued, inProgress)) {
      const run = this.runs.get(runId);
      if (run?.status !== 'QUEUED') continue;
      Object.assign(run, {
        status: 'STARTING',
        claim: { ...claim },
        updatedAt: Math.max(Date.now(), run.updatedAt + 1),
      });
      out.push(runId);
    }
    return out;
  }

  async putDaemonHeartbeat(heartbeat: DaemonHeartbeat): Promise<void> {
    this.daemons.set(heartbeat.daemonId, structuredClone(heartbeat));
  }

  async listDaemonHeartbeats(): Promise<DaemonHeartbeat[]> {
    return [...this.daemons.values()].map((d) => structuredClone(d));
  }

  async deleteDaemonHeartbeat(daemonId: string): Promise<void> {
    this.daemons.delete(daemonId);
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
      .filter((r) => filter.updatedSince === undefined || r.updatedAt >= filter.updatedSince)
      .filter((r) => filter.createdBefore === undefined || r.createdAt < filter.createdBefore)
      // Records in memory are typed: none has an unknown status.
      .filter(() => !filter.unknownStatus)
      .sort((a, b) => b.createdAt - a.createdAt);
    return out.slice(0, filter.limit ?? 100).map(copyRun);
  }

  async appendEvents(events: readonly StepwiseEvent[], fence?: Fence): Promise<void> {
    if (fence) for (const runId of new Set(events.map((e) => e.runId))) this.checkFence(runId, fence);
    for (const e of events) {
      let log = this.events.get(e.runId);
      if (!log) {
        log = [];
        this.events.set(e.runId, log);
      }
      log.push(e);
    }
  }

  async getEvents(runId: string, filter: EventFilter = {}): Promise<StoredEvent[]> {
    const log = this.events.get(runId) ?? [];
    const out: StoredEvent[] = [];
    // Index i holds seq i + 1: start at the first seq above afterSeq.
    for (let i = Math.max(0, Math.floor(filter.afterSeq ?? 0)); i < log.length; i++) {
      if (filter.limit !== undefined && out.length >= filter.limit) break;
      const e = log[i] as StepwiseEvent;
      if (filter.stepKey !== undefined && e.stepKey !== filter.stepKey) continue;
      if (filter.types && !filter.types.includes(e.type)) continue;
      out.push({ ...e, seq: i + 1 } as StoredEvent);
    }
    return out;
  }

  private checkFence(runId: string, fence: Fence | undefined): void {
    const epoch = this.leases.get(runId)?.epoch;
    if (!fenceHolds(fence, epoch)) throw new CoordinatorSupersededError(runId, fence?.epoch ?? 0, epoch ?? 0);
  }

  async takeLease(runId: string, request: LeaseRequest): Promise<LeaseAnswer> {
    const answer = decideLease(runId, this.leases.get(runId), request);
    if (answer.taken) this.leases.set(runId, answer.lease);
    return structuredClone(answer);
  }

  async renewLease(runId: string, epoch: number, now: number, ttlMs: number): Promise<boolean> {
    const lease = this.leases.get(runId);
    if (lease?.epoch !== epoch) return false;
    lease.renewedAt = now;
    lease.expiresAt = now + ttlMs;
    return true;
  }

  async getLease(runId: string): Promise<RunLease | undefined> {
    const lease = this.leases.get(runId);
    return lease && structuredClone(lease);
  }

  async close(): Promise<void> {}
}
