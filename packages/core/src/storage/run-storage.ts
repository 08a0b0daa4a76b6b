import type { StepwiseEvent, StoredEvent } from '../events/events.js';
import type { ExecutionPlan } from '../plan/plan.js';

/** Lifecycle of a run as stored. Terminal: SUCCESS, FAILURE, CANCELED. */
export type RunStatus = 'QUEUED' | 'STARTED' | 'CANCELING' | 'SUCCESS' | 'FAILURE' | 'CANCELED';

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['SUCCESS', 'FAILURE', 'CANCELED'];

export interface RunRecord {
  runId: string;
  pipeline: string;
  status: RunStatus;
  /** The run config as given (secrets redacted where marked). */
  runConfig: unknown;
  /** The compiled plan, so that re-execution and `execute-step` can rebuild the run. */
  plan: ExecutionPlan;
  tags: Record<string, string>;
  parentRunId?: string;
  rootRunId?: string;
  /** Epoch ms. */
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  updatedAt: number;
}

export type RunPatch = Partial<Pick<RunRecord, 'status' | 'startedAt' | 'endedAt' | 'tags'>>;

export interface RunFilter {
  status?: RunStatus[];
  pipeline?: string;
  /** Every tag must match. */
  tags?: Record<string, string>;
  /**
   * Only runs updated at or after this epoch ms: a cursor for a live list, which passes the newest `updatedAt` it
   * has seen and merges the answer by `runId` (inclusive, so that a run updated in that same millisecond after the
   * last call is not missed). A running run's heartbeat updates it too.
   */
  updatedSince?: number;
  /** Newest first; default 100. */
  limit?: number;
}

export interface EventFilter {
  /** Events with seq strictly greater than this (a cursor for tailing). Default 0. */
  afterSeq?: number;
  limit?: number;
  stepKey?: string;
  types?: StepwiseEvent['type'][];
}

/**
 * Where runs and their event logs live. Two implementations: SQLite (default) and PostgreSQL,
 * plus an in-memory one for ephemeral instances. All methods are safe to call concurrently.
 */
export interface RunStorage {
  /** Creates or migrates the schema. Idempotent; called by Instance before first use. */
  init(): Promise<void>;
  createRun(run: RunRecord): Promise<void>;
  /**
   * Creates `run` unless a run of its id exists, atomically: of several processes racing with the same id, one
   * creates it and the others get the stored record (`created: false`), which may differ from theirs.
   */
  createRunIfAbsent(run: RunRecord): Promise<{ created: boolean; run: RunRecord }>;
  updateRun(runId: string, patch: RunPatch): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Only the status and last update of a run: cheap enough to poll (cancel requests, heartbeats). */
  getRunStatus(runId: string): Promise<{ status: RunStatus; updatedAt: number } | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** Appends in order, in one transaction; assigns each event the next per-run seq. */
  appendEvents(events: readonly StepwiseEvent[]): Promise<void>;
  getEvents(runId: string, filter?: EventFilter): Promise<StoredEvent[]>;
  close(): Promise<void>;
}
