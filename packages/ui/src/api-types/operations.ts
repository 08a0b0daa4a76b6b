/** API schedules, workers and daemons. Pure types (see ../api-types.ts). */

// ---------------------------------------------------------------- schedules

export interface ScheduleSummary {
  name: string;
  pipeline: string;
  cron: string[];
  timezone: string;
  status: 'running' | 'stopped';
  /** ISO UTC, or null when the pattern has none. */
  nextTick: string | null;
  /** The next few instants, UTC and local. */
  nextTicks: Array<{ utc: string; local: string }>;
  lastTick: { scheduledAt: string; status: TickStatus } | null;
}

export type TickStatus = 'STARTED' | 'SUCCESS' | 'SKIPPED' | 'MISSED' | 'FAILURE';

/** GET /api/schedules */
export interface SchedulesResponse {
  schedules: ScheduleSummary[];
}

export interface TickJson {
  scheduledAt: string;
  status: TickStatus;
  runIds: string[];
  /** Why it was skipped, or the error of a FAILURE. */
  reason: string | null;
  attempt: number;
  createdAt: number;
  updatedAt: number;
}

/** GET /api/schedules/:name/ticks?limit=N (default 50), newest first. */
export interface TicksResponse {
  schedule: string;
  ticks: TickJson[];
}

/** POST /api/schedules/:name/start | /stop → 200 */
export interface ScheduleStatusResponse {
  schedule: ScheduleSummary;
}

// ---------------------------------------------------------------- workers

export interface RunningStep {
  runId: string;
  stepKey: string;
  attempt: number;
  startedAt: number;
}

export interface WorkerRow {
  id: string;
  name: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  /** Slots busy / free (a draining worker takes none: free 0). */
  used: number;
  free: number;
  running: RunningStep[];
  startedAt: number;
  heartbeatAt: number;
  draining: boolean;
}

/** A worker whose heartbeat stopped without it leaving (killed, host cut off), as this UI process saw it. */
export interface LostWorker {
  id: string;
  name: string;
  host: string;
  queues: string[];
  lastHeartbeatAt: number;
  /** When this UI noticed. */
  lostAt: number;
  /** Steps it was running at its last heartbeat (the queue runs them again elsewhere). */
  running: RunningStep[];
}

/** BullMQ job counts of one queue. */
export interface QueueCounts {
  waiting: number;
  prioritized: number;
  active: number;
  delayed: number;
  'waiting-children': number;
  completed: number;
  failed: number;
}

export interface QueueRow {
  name: string;
  counts: QueueCounts;
  /** Live, non-draining workers serving it, and their slots. */
  workers: number;
  slots: number;
  freeSlots: number;
  /** No live worker serves this queue while jobs wait on it or a run in progress has steps on it. */
  noWorker: boolean;
}

/** GET /api/workers */
export interface WorkersResponse {
  redis: { configured: boolean; url: string | null; error: string | null };
  workers: WorkerRow[];
  lost: LostWorker[];
  queues: QueueRow[];
}

// ---------------------------------------------------------------- daemons

export interface DaemonLoopJson {
  intervalMs: number;
  lastIterationAt?: number;
  lastDurationMs?: number;
  lastError?: string;
}

export interface DaemonJson {
  daemonId: string;
  host: string;
  pid: number;
  startedAt: number;
  updatedAt: number;
  /** Its last beat is within the daemon heartbeat timeout. */
  alive: boolean;
  loops: Record<string, DaemonLoopJson>;
}

/** GET /api/daemons */
export interface DaemonsResponse {
  daemons: DaemonJson[];
}
