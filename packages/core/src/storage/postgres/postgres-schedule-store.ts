import type pg from 'pg';
import {
  claimedTick,
  OUTCOME_COLUMNS,
  outcomeValues,
  SCHEDULE_COLUMNS,
  type ScheduleRow,
  scheduleFromRow,
  scheduleRowValues,
  TICK_COLUMNS,
  type TickRow,
  tickFromRow,
  tickRowValues,
} from '../schedule-rows.js';
import type {
  ScheduleState,
  ScheduleStore,
  TickClaimAnswer,
  TickClaimRequest,
  TickOutcome,
  TickRecord,
} from '../schedule-store.js';

type WithClient = <T>(what: string, fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/** The scheduler's tables in a PostgreSQL schema (`s`, quoted), through the storage's migrated client. */
export class PostgresScheduleStore implements ScheduleStore {
  constructor(
    private readonly s: string,
    private readonly withClient: WithClient,
  ) {}

  async getSchedule(name: string): Promise<ScheduleState | undefined> {
    const { rows } = await this.withClient('reading a schedule', (c) =>
      c.query<ScheduleRow>(`SELECT * FROM ${this.s}.schedules WHERE name = $1`, [name]),
    );
    return rows[0] && scheduleFromRow(rows[0]);
  }

  async listSchedules(): Promise<ScheduleState[]> {
    const { rows } = await this.withClient('listing schedules', (c) =>
      c.query<ScheduleRow>(`SELECT * FROM ${this.s}.schedules`),
    );
    return rows.map(scheduleFromRow);
  }

  async putSchedule(st: ScheduleState): Promise<void> {
    await this.withClient('writing a schedule', (c) =>
      c.query(
        `INSERT INTO ${this.s}.schedules (${SCHEDULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO UPDATE SET status = excluded.status, cursor = excluded.cursor,
           definition_hash = excluded.definition_hash, buffered_at = excluded.buffered_at,
           updated_at = excluded.updated_at`,
        scheduleRowValues(st),
      ),
    );
  }

  claimTick(r: TickClaimRequest): Promise<TickClaimAnswer> {
    return this.withClient('claiming a tick', async (c) => {
      // The unique key decides: of racing claimers one inserts, the rest change nothing.
      const inserted = await c.query(
        `INSERT INTO ${this.s}.schedule_ticks (${TICK_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (schedule, scheduled_at) DO NOTHING`,
        tickRowValues(claimedTick(r)),
      );
      if (inserted.rowCount === 1) return { claimed: true, attempt: 1 };
      const taken = await c.query<{ attempt: number }>(
        `UPDATE ${this.s}.schedule_ticks SET claimed_by = $1, lease_expires_at = $2, attempt = attempt + 1, updated_at = $3
         WHERE schedule = $4 AND scheduled_at = $5 AND status = 'STARTED' AND lease_expires_at < $3 RETURNING attempt`,
        [r.owner, r.now + r.leaseMs, r.now, r.schedule, r.scheduledAt],
      );
      const row = taken.rows[0];
      if (row) return { claimed: true, attempt: Number(row.attempt) };
      const held = await c.query<{ status: string }>(
        `SELECT status FROM ${this.s}.schedule_ticks WHERE schedule = $1 AND scheduled_at = $2`,
        [r.schedule, r.scheduledAt],
      );
      return { claimed: false, inProgress: held.rows[0]?.status === 'STARTED' };
    });
  }

  async finishTick(
    schedule: string,
    scheduledAt: string,
    owner: string,
    o: TickOutcome,
    now: number,
  ): Promise<boolean> {
    const result = await this.withClient('finishing a tick', (c) =>
      c.query(
        `UPDATE ${this.s}.schedule_ticks SET ${OUTCOME_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ')}
         WHERE schedule = $6 AND scheduled_at = $7 AND claimed_by = $8 AND status = 'STARTED'`,
        [...outcomeValues(o, now), schedule, scheduledAt, owner],
      ),
    );
    return result.rowCount === 1;
  }

  async listTicks(schedule: string, limit: number): Promise<TickRecord[]> {
    const { rows } = await this.withClient('listing ticks', (c) =>
      c.query<TickRow>(
        `SELECT ${TICK_COLUMNS} FROM ${this.s}.schedule_ticks WHERE schedule = $1 ORDER BY scheduled_at DESC LIMIT $2`,
        [schedule, limit],
      ),
    );
    return rows.map(tickFromRow);
  }

  async purgeTicks(schedule: string, before: string): Promise<number> {
    const result = await this.withClient('purging ticks', (c) =>
      c.query(
        `DELETE FROM ${this.s}.schedule_ticks WHERE schedule = $1 AND scheduled_at < $2 AND status <> 'STARTED'`,
        [schedule, before],
      ),
    );
    return result.rowCount ?? 0;
  }
}
