import type { MalformedRunError } from '../errors/index.js';
import type { StepwiseEvent, StoredEvent } from '../events/events.js';
import type { ExecutionPlan } from '../plan/plan.js';
import type { Fence, LeaseAnswer, LeaseRequest, RunLease } from './run-lease.js';
import type { ScheduleStore } from './schedule-store.js';

/**
 * Lifecycle of a run as stored: QUEUED (submitted, waiting for the daemon) → STARTING (dequeued, being launched) →
 * STARTED (its coordinator runs it) → CANCELING → SUCCESS | FAILURE | CANCELED (terminal).
 */
export type RunStatus = 'QUEUED' | 'STARTING' | 'STARTED' | 'CANCELING' | 'SUCCESS' | 'FAILURE' | 'CANCELED';

export const RUN_STATUSES: readonly RunStatus[] = [
  'QUEUED',
  'STARTING',
  'STARTED',
  'CANCELING',
  'SUCCESS',
  'FAILURE',
  'CANCELED',
];

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['SUCCESS', 'FAILURE', 'CANCELED'];

/** Runs that hold a slot of the run queue (`maxConcurrentRuns`, tag limits). */
export const IN_PROGRESS_RUN_STATUSES: readonly RunStatus[] = ['STARTING', 'STARTED', 'CANCELING'];

/** Who took the last decision about a run (the daemon that dequeued or resumed it), and when. */
export interface RunClaim {
  owner: string;
  /** Epoch ms. */
  at: number;
}

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
  /** Set by a daemon when it dequeues or resumes the run. */
  claim?: RunClaim;
  /** How many times run monitoring resumed the run. Absent: none. */
  resumeAttempts?: number;
}

export type RunPatch = Partial<
  Pick<RunRecord, 'status' | 'startedAt' | 'endedAt' | 'tags' | 'claim' | 'resumeAttempts'>
>;

/** What a conditional update expects of the stored run; every field given must match. */
export interface RunExpectation {
  status?: readonly RunStatus[];
  /** The `updatedAt` read before (a heartbeat in between changes it, and the update does not apply). */
  updatedAt?: number;
  /** The owner of the run's claim. */
  claimOwner?: string;
}

/** What the run queue's policy sees of a run. */
export interface QueueRunView {
  runId: string;
  status: RunStatus;
  tags: Record<string, string>;
  /** Submission order: larger is later. */
  order: number;
}

/** Picks, from the QUEUED runs (in submission order) and the runs in progress, the ids to dequeue now. */
export type DequeueChooser = (queued: readonly QueueRunView[], inProgress: readonly QueueRunView[]) => string[];

export interface ListRunsOptions {
  /**
   * Called with each run whose stored row does not read back (hand-edited: bad JSON, an unknown status); the list
   * goes on without it. Without it, such a row fails the whole list.
   */
  onMalformed?(error: MalformedRunError): void;
}

/** A subscription of {@link RunStorage.watchRunQueue}. */
export interface RunQueueWatch {
  /** Stops the calls and releases the connection or timer. */
  close(): Promise<void>;
}

/** One loop of a daemon as its heartbeat reports it. */
export interface DaemonLoopStatus {
  intervalMs: number;
  /** Epoch ms of the end of the last iteration. */
  lastIterationAt?: number;
  lastDurationMs?: number;
  /** The message of the last iteration's error, when it failed. */
  lastError?: string;
}

/** A live daemon as recorded in storage (`stepwise daemon status`). */
export interface DaemonHeartbeat {
  daemonId: string;
  host: string;
  pid: number;
  startedAt: number;
  /** Epoch ms of the last beat. */
  updatedAt: number;
  loops: Record<string, DaemonLoopStatus>;
}

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
  /** Only runs created strictly before this epoch ms: the cursor of a paged list (the web UI's `before`). */
  createdBefore?: number;
  /**
   * Only the runs whose stored status is none of RUN_STATUSES (a hand edit): each reads as a MalformedRunError, so
   * pass `onMalformed` to see them. The daemon's monitor fails them.
   */
  unknownStatus?: boolean;
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
  /** With `fence`: refused (CoordinatorSupersededError) when the run's lease has a newer epoch. */
  updateRun(runId: string, patch: RunPatch, fence?: Fence): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Only the status and last update of a run: cheap enough to poll (cancel requests, heartbeats). */
  getRunStatus(runId: string): Promise<{ status: RunStatus; updatedAt: number } | undefined>;
  /** Throws MalformedRunError on a row that does not read back, unless `options.onMalformed` takes it. */
  listRuns(filter?: RunFilter, options?: ListRunsOptions): Promise<RunRecord[]>;
  /**
   * Appends in order, in one transaction; assigns each event the next per-run seq. With `fence`: refused whole
   * (CoordinatorSupersededError) when the lease of a run in the batch has a newer epoch.
   */
  appendEvents(events: readonly StepwiseEvent[], fence?: Fence): Promise<void>;
  /**
   * Takes the run's coordinator lease, atomically: when there is none, it expired, or `force`; the epoch goes up by
   * one. Otherwise answers the live holder.
   */
  takeLease(runId: string, request: LeaseRequest): Promise<LeaseAnswer>;
  /** Extends the lease of `epoch` to `now + ttlMs`; false when another coordinator took it since. */
  renewLease(runId: string, epoch: number, now: number, ttlMs: number): Promise<boolean>;
  getLease(runId: string): Promise<RunLease | undefined>;
  getEvents(runId: string, filter?: EventFilter): Promise<StoredEvent[]>;
  /**
   * Applies `patch` only if the run matches `expected`, atomically (a conditional UPDATE): how any number of
   * processes claim a decision about a run without two taking it. True when it applied.
   */
  transitionRun(runId: string, expected: RunExpectation, patch: RunPatch): Promise<boolean>;
  /**
   * The run queue's atomic step: under one lock (a write transaction), shows `choose` the QUEUED runs and those in
   * progress, marks the runs it picks STARTING with `claim`, and returns their ids. Concurrent callers never pick
   * the same run, and each sees the others' picks as in progress. (Ids, not records: a malformed record must not
   * stop the queue; the caller reads each and fails the one that does not read.)
   */
  dequeueRuns(choose: DequeueChooser, claim: RunClaim): Promise<string[]>;
  /**
   * Calls `onChange` soon after any process on this storage submits a run (stores it QUEUED) or ends one (a slot
   * frees), so that a daemon's run queue dequeues at once rather than at its next interval. Calls may be coalesced
   * or spurious; after a lost connection it calls once (a change may have been missed). Optional: a storage without
   * it is polled every `dequeueIntervalMs`.
   */
  watchRunQueue?(onChange: () => void): RunQueueWatch;
  /** Records a daemon's heartbeat (insert or replace). */
  putDaemonHeartbeat(heartbeat: DaemonHeartbeat): Promise<void>;
  listDaemonHeartbeats(): Promise<DaemonHeartbeat[]>;
  deleteDaemonHeartbeat(daemonId: string): Promise<void>;
  /** The scheduler's schedules and ticks (docs/scheduler.md); a storage without it cannot run schedules. */
  readonly schedules?: ScheduleStore;
  close(): Promise<void>;
}
