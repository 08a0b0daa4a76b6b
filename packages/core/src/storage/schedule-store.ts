/** The scheduler's storage (docs/scheduler.md): each schedule's state row and its tick history, claimed by a unique key. */

export type ScheduleStatus = 'running' | 'stopped';
export type TickStatus = 'STARTED' | 'SUCCESS' | 'SKIPPED' | 'MISSED' | 'FAILURE';

/** A schedule's own row: the cursor lives here, not in tick history, so purging ticks never re-launches. */
export interface ScheduleState {
  name: string;
  status: ScheduleStatus;
  /** The last evaluated instant (epoch ms), or null before the first pass. */
  cursor: number | null;
  /** The definition's hash of cron and timezone when the cursor was set: a change resets the cursor. */
  definitionHash: string;
  /** Overlap `buffer-one`: the instant (epoch ms) held until the schedule's run in progress ends; absent when none. */
  buffered?: number;
  updatedAt: number;
}

export interface TickRecord {
  schedule: string;
  /** ISO-8601 UTC, the tick's key with the schedule. */
  scheduledAt: string;
  status: TickStatus;
  runIds: string[];
  reason?: string;
  error?: string;
  /** The process holding (or that last held) the claim. */
  claimedBy: string;
  leaseExpiresAt: number;
  /** 1 for the first claim, +1 per takeover of an expired claim. */
  attempt: number;
  createdAt: number;
  updatedAt: number;
}

export interface TickClaimRequest {
  schedule: string;
  scheduledAt: string;
  owner: string;
  now: number;
  leaseMs: number;
}

/**
 * `claimed: true` when this caller now holds the tick: first claim, or takeover of a claim whose lease expired.
 * Otherwise `inProgress` tells a tick another process holds (STARTED, lease live) from a finished one: a scheduler
 * keeps its cursor before the former, so the tick is taken over later if that process dies.
 */
export type TickClaimAnswer = { claimed: true; attempt: number } | { claimed: false; inProgress: boolean };

export interface TickOutcome {
  status: Exclude<TickStatus, 'STARTED'>;
  runIds?: string[];
  reason?: string;
  error?: string;
}

export interface ScheduleStore {
  getSchedule(name: string): Promise<ScheduleState | undefined>;
  /** Every schedule's row (a scheduler pass reads them in one query). */
  listSchedules(): Promise<ScheduleState[]>;
  /** Inserts or replaces the schedule's row. */
  putSchedule(state: ScheduleState): Promise<void>;
  /** Claims a tick under the unique key (schedule, scheduledAt). */
  claimTick(request: TickClaimRequest): Promise<TickClaimAnswer>;
  /** Records the outcome of a tick still claimed by `owner`; false when the claim was taken over meanwhile. */
  finishTick(schedule: string, scheduledAt: string, owner: string, outcome: TickOutcome, now: number): Promise<boolean>;
  /** Newest first. */
  listTicks(schedule: string, limit: number): Promise<TickRecord[]>;
  /**
   * Deletes the schedule's finished ticks scheduled before `before` (ISO UTC); returns how many. Claims in progress
   * stay. Never causes a re-launch: the cursor on the schedule's row, not tick history, says what was evaluated.
   */
  purgeTicks(schedule: string, before: string): Promise<number>;
}
