/** API errors, meta, runs and steps. Pure types (see ../api-types.ts). */

// ---------------------------------------------------------------- errors

/** Codes the API itself answers; errors raised by the library keep their own code (e.g. `LOAD_FAILED`). */
export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_JSON'
  | 'CONFIG_INVALID'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN_ORIGIN'
  | 'READ_ONLY'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INTERNAL';

/** Every 4xx/5xx answer: 400 bad input, 401 no/wrong token, 403 read-only or foreign Origin, 404 unknown thing. */
export interface ApiErrorResponse {
  error: {
    code: ApiErrorCode | (string & {});
    message: string;
    /** CONFIG_INVALID: every problem by path, located in the YAML text when one was sent. */
    issues?: ConfigIssueJson[];
  };
}

/** One problem of a run config, by dotted path (`ops.extract.config.limit`); `''` is the document itself. */
export interface ConfigIssueJson {
  path: string;
  message: string;
  /** When runConfig was YAML text: where the path's value (or the YAML syntax error) is. 1-based. */
  line?: number;
  column?: number;
  /** Character offsets in the YAML text: [from, to) of the value, for underlining. */
  from?: number;
  to?: number;
}

// ---------------------------------------------------------------- meta

/** GET /api/meta: what the front end needs to know of the server. */
export interface MetaResponse {
  readOnly: boolean;
  /** A token guards the API (the browser holds the session cookie). */
  tokenRequired: boolean;
  /** The definitions file given with -f, or null. */
  file: string | null;
  /** Where runs live. */
  storage: 'sqlite' | 'postgres' | 'memory' | (string & {});
  /** Redis is configured: workers and queue depths can be shown. */
  redis: boolean;
  basePath: string;
}

/** GET /healthz */
export interface HealthResponse {
  ok: true;
}

// ---------------------------------------------------------------- runs

export type RunStatus = 'QUEUED' | 'STARTING' | 'STARTED' | 'CANCELING' | 'SUCCESS' | 'FAILURE' | 'CANCELED';

export type StepStatus =
  | 'PENDING'
  | 'READY'
  | 'DISPATCHED'
  | 'RUNNING'
  | 'UP_FOR_RETRY'
  | 'SUCCESS'
  | 'FAILURE'
  | 'SKIPPED'
  | 'CANCELED'
  | 'NOT_STARTED';

/** A run as `stepwise runs show --json` shows its head. */
export interface RunSummary {
  runId: string;
  pipeline: string;
  status: RunStatus;
  /** Running, but its coordinator stopped its heartbeat. */
  orphaned: boolean;
  parentRunId: string | null;
  rootRunId: string | null;
  /** Secret-looking values masked. */
  tags: Record<string, string>;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  updatedAt: number;
}

/**
 * GET /api/runs?status=A,B&pipeline=P&tag=k=v&tag=k2=v2&limit=50&before=RUN_ID — newest first (by creation).
 * `status` may be repeated or comma-separated; every `tag` must match; limit 1..500 (default 50); `before` is the
 * `nextBefore` of the previous page.
 */
export interface RunsListResponse {
  runs: RunSummary[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  nextBefore: string | null;
}

/** The run of GET /api/runs/:id: its summary plus what a run page shows. */
export interface RunDetail extends RunSummary {
  /** Its event log has a RUN_SUCCESS / RUN_FAILURE / RUN_CANCELED. */
  finished: boolean;
  durationMs: number | null;
  /** The run config as stored (secrets already masked by the library: `'***'`). */
  runConfig: unknown;
  /** The definitions file recorded with the run (tag stepwise/file), if any. */
  file: string | null;
  /** Seq of the last stored event: where a live tail starts. */
  lastSeq: number;
  /** Runs re-executed from this one, oldest first. */
  childRunIds: string[];
}

/** The error of a failed step. */
export interface StepErrorJson {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

/** One step of a run (a mapped copy is its own row, `key[mappingKey]`, with `planKey` its template). */
export interface StepRow {
  key: string;
  planKey: string;
  mappingKey?: string;
  op: string;
  /** The worker queue its `queue` tag names (default `default`). */
  queue: string;
  status: StepStatus;
  /** Attempts made (0 when never started). */
  attempts: number;
  /** Outputs read from an earlier run (a re-execution): not run here. */
  reused: boolean;
  reusedFrom?: string;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  /** Worker of the latest attempt. */
  workerId?: string;
  error?: StepErrorJson;
  skipReason?: string;
  /** Plan steps it waits for. */
  upstream: string[];
  /** Median duration of this step (its plan key) over the pipeline's last finished runs; null without data. */
  medianMs: number | null;
  /** Segments of each attempt, for the Gantt (one per attempt that started). */
  attemptsDetail: AttemptSegment[];
}

export interface AttemptSegment {
  attempt: number;
  workerId?: string;
  startedAt: number;
  /** Absent while running. */
  endedAt?: number;
  outcome?: 'SUCCESS' | 'FAILURE' | 'UP_FOR_RETRY' | 'RESTARTED' | 'SKIPPED' | 'CANCELED';
}

/** The root failure of a failed run, apart from what it caused. */
export interface FailureSummary {
  /** Steps that failed with their own error (not because an upstream failed). */
  rootSteps: Array<{ key: string; error?: StepErrorJson }>;
  /** Steps skipped or never run because a root step failed. */
  causedSkips: string[];
  /** The step a run page should preselect: the first root failure. */
  preselect: string | null;
}

/** GET /api/runs/:id (SPEC §11: `{"run":run,"steps":[step]}`). */
export interface RunDetailResponse {
  run: RunDetail;
  steps: StepRow[];
  /** Null unless some step failed. */
  failure: FailureSummary | null;
  /** How many of the pipeline's last runs `medianMs` is taken over. */
  medianOver: number;
}
