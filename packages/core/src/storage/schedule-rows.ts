import type {
  ScheduleState,
  ScheduleStatus,
  TickClaimRequest,
  TickOutcome,
  TickRecord,
  TickStatus,
} from './schedule-store.js';

/**
 * The one mapping between the scheduler's records and their rows, both ways, for every backend: the SQL stores read
 * and write these rows (PostgreSQL gives bigints as text), the memory store builds its records with the same helpers.
 */

export interface ScheduleRow {
  name: string;
  status: string;
  cursor: number | string | null;
  definition_hash: string;
  buffered_at: number | string | null;
  updated_at: number | string;
}

export interface TickRow {
  schedule: string;
  scheduled_at: string;
  status: string;
  run_ids: string;
  reason: string | null;
  error: string | null;
  claimed_by: string;
  lease_expires_at: number | string;
  attempt: number | string;
  created_at: number | string;
  updated_at: number | string;
}

/** The columns of `schedules`, in the order of {@link scheduleRowValues}. */
export const SCHEDULE_COLUMNS = 'name, status, cursor, definition_hash, buffered_at, updated_at';

export const TICK_COLUMNS =
  'schedule, scheduled_at, status, run_ids, reason, error, claimed_by, lease_expires_at, attempt, created_at, updated_at';

/** The columns a finished tick sets, in the order of {@link outcomeValues}. */
export const OUTCOME_COLUMNS = ['status', 'run_ids', 'reason', 'error', 'updated_at'] as const;

export function scheduleRowValues(s: ScheduleState): unknown[] {
  return [s.name, s.status, s.cursor, s.definitionHash, s.buffered ?? null, s.updatedAt];
}

export function scheduleFromRow(r: ScheduleRow): ScheduleState {
  return {
    name: r.name,
    status: r.status as ScheduleStatus,
    cursor: r.cursor === null ? null : Number(r.cursor),
    definitionHash: r.definition_hash,
    ...(r.buffered_at !== null && r.buffered_at !== undefined && { buffered: Number(r.buffered_at) }),
    updatedAt: Number(r.updated_at),
  };
}

/** The tick a first claim stores: STARTED, attempt 1, leased to the claimer. */
export function claimedTick(r: TickClaimRequest): TickRecord {
  return {
    schedule: r.schedule,
    scheduledAt: r.scheduledAt,
    status: 'STARTED',
    runIds: [],
    claimedBy: r.owner,
    leaseExpiresAt: r.now + r.leaseMs,
    attempt: 1,
    createdAt: r.now,
    updatedAt: r.now,
  };
}

export function tickRowValues(t: TickRecord): unknown[] {
  return [
    t.schedule,
    t.scheduledAt,
    t.status,
    JSON.stringify(t.runIds),
    t.reason ?? null,
    t.error ?? null,
    t.claimedBy,
    t.leaseExpiresAt,
    t.attempt,
    t.createdAt,
    t.updatedAt,
  ];
}

/** What a finished tick's row holds, for the UPDATE of {@link OUTCOME_COLUMNS}. */
export function outcomeValues(o: TickOutcome, now: number): unknown[] {
  return [o.status, JSON.stringify(o.runIds ?? []), o.reason ?? null, o.error ?? null, now];
}

export function tickFromRow(r: TickRow): TickRecord {
  return {
    schedule: r.schedule,
    scheduledAt: r.scheduled_at,
    status: r.status as TickStatus,
    runIds: JSON.parse(r.run_ids) as string[],
    ...(r.reason !== null && { reason: r.reason }),
    ...(r.error !== null && { error: r.error }),
    claimedBy: r.claimed_by,
    leaseExpiresAt: Number(r.lease_expires_at),
    attempt: Number(r.attempt),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** The record of a tick once finished with `o` (what the UPDATE of {@link outcomeValues} leaves in its row). */
export function finishedTick(t: TickRecord, o: TickOutcome, now: number): TickRecord {
  const { reason: _r, error: _e, ...rest } = t;
  return {
    ...rest,
    status: o.status,
    runIds: [...(o.runIds ?? [])],
    ...(o.reason !== undefined && { reason: o.reason }),
    ...(o.error !== undefined && { error: o.error }),
    updatedAt: now,
  };
}
