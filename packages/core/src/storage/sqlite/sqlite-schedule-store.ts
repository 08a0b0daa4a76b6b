import type Database from 'better-sqlite3';
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

/** The scheduler's tables on a SQLite database; `db()` opens it (and migrates) on first use. */
export class SqliteScheduleStore implements ScheduleStore {
  private prepared = new Map<string, Database.Statement>();
  private preparedFor?: Database.Database;

  constructor(private readonly db: () => Database.Database) {}

  /** A prepared statement, kept per database: preparing cost more than running these small queries. */
  private sql(text: string): Database.Statement {
    const db = this.db();
    if (db !== this.preparedFor) {
      this.prepared = new Map();
      this.preparedFor = db;
    }
    let statement = this.prepared.get(text);
    if (!statement) {
      statement = db.prepare(text);
      this.prepared.set(text, statement);
    }
    return statement;
  }

  async listSchedules(): Promise<ScheduleState[]> {
    return (this.sql('SELECT * FROM schedules').all() as ScheduleRow[]).map(scheduleFromRow);
  }

  async getSchedule(name: string): Promise<ScheduleState | undefined> {
    const row = this.sql('SELECT * FROM schedules WHERE name = ?').get(name) as ScheduleRow | undefined;
    return row && scheduleFromRow(row);
  }

  async putSchedule(s: ScheduleState): Promise<void> {
    this.sql(`INSERT OR REPLACE INTO schedules (${SCHEDULE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`).run(
      ...scheduleRowValues(s),
    );
  }

  async claimTick(r: TickClaimRequest): Promise<TickClaimAnswer> {
    // The unique key decides: of racing claimers one inserts, the rest change nothing.
    const inserted = this.sql(
      `INSERT INTO schedule_ticks (${TICK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (schedule, scheduled_at) DO NOTHING`,
    ).run(...tickRowValues(claimedTick(r)));
    if (inserted.changes === 1) return { claimed: true, attempt: 1 };
    const taken = this.sql(
      `UPDATE schedule_ticks SET claimed_by = ?, lease_expires_at = ?, attempt = attempt + 1, updated_at = ?
         WHERE schedule = ? AND scheduled_at = ? AND status = 'STARTED' AND lease_expires_at < ? RETURNING attempt`,
    ).get(r.owner, r.now + r.leaseMs, r.now, r.schedule, r.scheduledAt, r.now) as { attempt: number } | undefined;
    if (taken) return { claimed: true, attempt: taken.attempt };
    const held = this.sql('SELECT status FROM schedule_ticks WHERE schedule = ? AND scheduled_at = ?').get(
      r.schedule,
      r.scheduledAt,
    ) as { status: string } | undefined;
    return { claimed: false, inProgress: held?.status === 'STARTED' };
  }

  async finishTick(
    schedule: string,
    scheduledAt: string,
    owner: string,
    o: TickOutcome,
    now: number,
  ): Promise<boolean> {
    const result = this.sql(
      `UPDATE schedule_ticks SET ${OUTCOME_COLUMNS.map((c) => `${c} = ?`).join(', ')}
         WHERE schedule = ? AND scheduled_at = ? AND claimed_by = ? AND status = 'STARTED'`,
    ).run(...outcomeValues(o, now), schedule, scheduledAt, owner);
    return result.changes === 1;
  }

  async listTicks(schedule: string, limit: number): Promise<TickRecord[]> {
    const rows = this.sql(
      `SELECT ${TICK_COLUMNS} FROM schedule_ticks WHERE schedule = ? ORDER BY scheduled_at DESC LIMIT ?`,
    ).all(schedule, limit) as TickRow[];
    return rows.map(tickFromRow);
  }

  async purgeTicks(schedule: string, before: string): Promise<number> {
    return this.sql("DELETE FROM schedule_ticks WHERE schedule = ? AND scheduled_at < ? AND status <> 'STARTED'").run(
      schedule,
      before,
    ).changes;
  }
}
