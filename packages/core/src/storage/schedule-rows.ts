import type { ScheduleState, ScheduleStatus, TickRecord, TickStatus } from './schedule-store.js';

/** Rows of the `schedules` and `schedule_ticks` tables as both SQL backends return them (PG bigints as text). */
export interface ScheduleRow {
  name: string;
  status: string;
  cursor: number | string | null;
  definition_hash: string;
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

export const TICK_COLUMNS =
  'schedule, scheduled_at, status, run_ids, reason, error, claimed_by, lease_expires_at, attempt, created_at, updated_at';

export function scheduleFromRow(r: ScheduleRow): ScheduleState {
  return {
    name: r.name,
    status: r.status as ScheduleStatus,
    cursor: r.cursor === null ? null : Number(r.cursor),
    definitionHash: r.definition_hash,
    updatedAt: Number(r.updated_at),
  };
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
