import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { CoordinatorSupersededError, NotFoundError, StepwiseError, StorageError } from '../../errors/index.js';
import type { StepwiseEvent, StoredEvent } from '../../events/events.js';
import { OPTIONAL_DEPENDENCIES, requireOptional } from '../../plugins/optional-dependency.js';
import { collectChunk, encodeChunk, groupByRun } from '../event-chunks.js';
import {
  decideLease,
  type Fence,
  fenceHolds,
  type LeaseAnswer,
  type LeaseRequest,
  type RunLease,
} from '../run-lease.js';
import { LEASE_COLUMNS, type LeaseRow, leaseOfRow, leaseParams } from '../run-lease-row.js';
import {
  patchColumns,
  RUN_COLUMNS,
  type RunRow,
  recordFromRow,
  recordsFromRows,
  runFilterConditions,
  runRowValues,
} from '../run-rows.js';
import type {
  DaemonHeartbeat,
  DequeueChooser,
  EventFilter,
  ListRunsOptions,
  RunClaim,
  RunExpectation,
  RunFilter,
  RunPatch,
  RunQueueWatch,
  RunRecord,
  RunStatus,
  RunStorage,
} from '../run-storage.js';
import { migrateSqlite } from './migrations.js';
import { watchSqliteQueue } from './sqlite-queue-watch.js';
import * as queue from './sqlite-run-queue.js';
import { SqliteScheduleStore } from './sqlite-schedule-store.js';

export interface SqliteRunStorageOptions {
  /** Directory holding the database file; created if missing. */
  dir: string;
  /** Database file name inside `dir`. Default `stepwise.db`. */
  fileName?: string;
  /**
   * How long a writer waits for another process's write lock before failing, in ms. Default 10 000.
   * Longer tolerates more writer processes at the cost of slower failure when one is stuck.
   */
  busyTimeoutMs?: number;
}

interface EventStatements {
  db: Database.Database;
  lastSeq: Database.Statement;
  insert: Database.Statement;
  read: Database.Statement;
  leaseEpoch: Database.Statement;
}

const parseJson = (column: unknown) => JSON.parse(column as string);

/**
 * Run storage in one SQLite file (WAL mode): the default for a single machine. Several processes may share
 * the file: writes take the database lock with BEGIN IMMEDIATE and wait up to `busyTimeoutMs` for it.
 * better-sqlite3 is synchronous; calls are quick enough not to matter: an append of 1,000 events is one chunk row
 * (see event-chunks.ts), about 2 ms.
 */
export class SqliteRunStorage implements RunStorage {
  readonly dir: string;
  readonly file: string;
  private readonly busyTimeoutMs: number;
  private db?: Database.Database;
  private statements?: EventStatements;
  private closed = false;
  readonly schedules = new SqliteScheduleStore(() => this.open());

  constructor(options: SqliteRunStorageOptions) {
    this.dir = options.dir;
    this.file = join(options.dir, options.fileName ?? 'stepwise.db');
    this.busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
  }

  async init(): Promise<void> {
    this.open();
  }

  private open(): Database.Database {
    if (this.closed) throw new StorageError(`SQLite storage at ${this.file} is closed`);
    if (this.db) return this.db;
    const hint = 'check storage.sqlite.dir in stepwise.yaml and that the directory is writable';
    try {
      mkdirSync(this.dir, { recursive: true });
      // SQLite can open a read-only directory's existing file read-only and fail later; fail now instead.
      accessSync(this.dir, constants.W_OK);
    } catch (err) {
      throw new StorageError(`cannot use SQLite storage directory ${this.dir}: ${(err as Error).message}; ${hint}`, {
        cause: err,
      });
    }
    // An optional peer, loaded with the first SQLite storage: a PostgreSQL-only install need not compile it.
    const open = requireOptional<typeof Database>(OPTIONAL_DEPENDENCIES.sqlite);
    let db: Database.Database | undefined;
    try {
      db = new open(this.file, { timeout: this.busyTimeoutMs });
      switchToWal(db, this.busyTimeoutMs);
      db.pragma('synchronous = NORMAL');
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.busyTimeoutMs))}`);
      migrateSqlite(db);
    } catch (err) {
      db?.close();
      throw new StorageError(
        `cannot open SQLite storage ${this.file} in directory ${this.dir}: ${(err as Error).message}; ${hint}`,
        { cause: err },
      );
    }
    this.db = db;
    return db;
  }

  /** Runs `fn`, turning driver errors into StorageError (Stepwise errors pass through). */
  private run<T>(what: string, fn: (db: Database.Database) => T): T {
    const db = this.open();
    try {
      return fn(db);
    } catch (err) {
      if (StepwiseError.is(err)) throw err;
      throw new StorageError(`SQLite storage ${this.file}: ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async createRun(run: RunRecord): Promise<void> {
    const { created } = this.insertRun(run, `creating run '${run.runId}'`);
    if (!created) throw new StorageError(`run '${run.runId}' already exists in ${this.file}`);
  }

  async createRunIfAbsent(run: RunRecord): Promise<{ created: boolean; run: RunRecord }> {
    return this.insertRun(run, `getting or creating run '${run.runId}'`);
  }

  /** Inserts `run` unless a run of that id exists (under the write lock, so racing processes create one). */
  private insertRun(run: RunRecord, what: string): { created: boolean; run: RunRecord } {
    return this.run(what, (db) =>
      db
        .transaction(() => {
          const existing = db.prepare('SELECT * FROM runs WHERE run_id = ?').get(run.runId) as RunRow | undefined;
          if (existing) return { created: false, run: recordFromRow(existing, parseJson) };
          db.prepare(`INSERT INTO runs (${RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
            ...runRowValues(run),
          );
          this.writeTags(db, run.runId, run.tags);
          return { created: true, run };
        })
        .immediate(),
    );
  }

  private writeTags(db: Database.Database, runId: string, tags: Record<string, string>): void {
    db.prepare('DELETE FROM run_tags WHERE run_id = ?').run(runId);
    const insert = db.prepare('INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)');
    for (const [key, value] of Object.entries(tags)) insert.run(runId, key, value);
  }

  async updateRun(runId: string, patch: RunPatch, fence?: Fence): Promise<void> {
    this.run(`updating run '${runId}'`, (db) => {
      db.transaction(() => {
        this.checkFence(db, runId, fence);
        if (!this.patch(db, runId, {}, patch)) throw new NotFoundError(`run '${runId}' not found`);
      }).immediate();
    });
  }

  /** UPDATE of one run where it matches `expected`; true when a row changed. Call inside a transaction. */
  private patch(db: Database.Database, runId: string, expected: RunExpectation, patch: RunPatch): boolean {
    if (expected.status?.length === 0) return false;
    const params: unknown[] = [Date.now()];
    const param = (value: unknown) => {
      params.push(value);
      return '?';
    };
    // Strictly later than the value read: a claim conditional on updatedAt must see any update, even in the same ms.
    const sets = ['updated_at = MAX(?, updated_at + 1)', ...patchColumns(patch).map(([c, v]) => `${c} = ${param(v)}`)];
    const where = [`run_id = ${param(runId)}`];
    if (expected.status) where.push(`status IN (${expected.status.map(param).join(', ')})`);
    if (expected.updatedAt !== undefined) where.push(`updated_at = ${param(expected.updatedAt)}`);
    if (expected.claimOwner !== undefined) where.push(`claim_owner = ${param(expected.claimOwner)}`);
    const result = db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE ${where.join(' AND ')}`).run(...params);
    if (result.changes === 0) return false;
    if (patch.tags !== undefined) this.writeTags(db, runId, patch.tags);
    return true;
  }

  async transitionRun(runId: string, expected: RunExpectation, patch: RunPatch): Promise<boolean> {
    return this.run(`updating run '${runId}'`, (db) =>
      db.transaction(() => this.patch(db, runId, expected, patch)).immediate(),
    );
  }

  async dequeueRuns(choose: DequeueChooser, claim: RunClaim): Promise<string[]> {
    return this.run('dequeuing runs', (db) => queue.dequeue(db, choose, claim));
  }

  watchRunQueue(onChange: () => void): RunQueueWatch {
    return watchSqliteQueue(() => this.open(), onChange);
  }

  async putDaemonHeartbeat(heartbeat: DaemonHeartbeat): Promise<void> {
    this.run(`recording the heartbeat of daemon '${heartbeat.daemonId}'`, (db) => queue.putHeartbeat(db, heartbeat));
  }

  async listDaemonHeartbeats(): Promise<DaemonHeartbeat[]> {
    return this.run('listing daemon heartbeats', (db) => queue.listHeartbeats(db));
  }

  async deleteDaemonHeartbeat(daemonId: string): Promise<void> {
    this.run(`removing the heartbeat of daemon '${daemonId}'`, (db) => queue.deleteHeartbeat(db, daemonId));
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.run(`reading run '${runId}'`, (db) => {
      const row = db.prepare('SELECT * FROM runs WHERE run_id = ?').get(runId) as RunRow | undefined;
      return row && recordFromRow(row, parseJson);
    });
  }

  async getRunStatus(runId: string): Promise<{ status: RunStatus; updatedAt: number } | undefined> {
    return this.run(`reading run '${runId}'`, (db) => {
      const row = db.prepare('SELECT status, updated_at FROM runs WHERE run_id = ?').get(runId) as
        | { status: RunStatus; updated_at: number }
        | undefined;
      return row && { status: row.status, updatedAt: Number(row.updated_at) };
    });
  }

  async listRuns(filter: RunFilter = {}, options?: ListRunsOptions): Promise<RunRecord[]> {
    return this.run('listing runs', (db) => {
      if (filter.status?.length === 0) return [];
      const params: unknown[] = [];
      const where = runFilterConditions(
        filter,
        (value) => {
          params.push(value);
          return '?';
        },
        'run_tags',
      );
      const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, rowid DESC LIMIT ?`;
      const rows = db.prepare(sql).all(...params, filter.limit ?? 100) as RunRow[];
      return recordsFromRows(rows, parseJson, options);
    });
  }

  /** Statements of the event hot path, prepared once per connection. */
  private eventStatements(db: Database.Database): EventStatements {
    if (this.statements?.db === db) return this.statements;
    this.statements = {
      db,
      lastSeq: db.prepare('SELECT last_seq FROM event_chunks WHERE run_id = ? ORDER BY first_seq DESC LIMIT 1'),
      insert: db.prepare('INSERT INTO event_chunks (run_id, first_seq, last_seq, events) VALUES (?, ?, ?, ?)'),
      // From the chunk holding seq afterSeq + 1 (the last chunk starting at or before it) onwards.
      read: db.prepare(
        `SELECT first_seq, events FROM event_chunks WHERE run_id = @runId AND first_seq >= coalesce(
           (SELECT max(first_seq) FROM event_chunks WHERE run_id = @runId AND first_seq <= @afterSeq + 1), 0)
         ORDER BY first_seq`,
      ),
      leaseEpoch: db.prepare('SELECT epoch FROM run_leases WHERE run_id = ?'),
    };
    return this.statements;
  }

  /** Throws when the run's lease has a newer epoch than `fence`; call inside the write transaction. */
  private checkFence(db: Database.Database, runId: string, fence: Fence | undefined): void {
    if (!fence) return;
    const row = this.eventStatements(db).leaseEpoch.get(runId) as { epoch: number } | undefined;
    if (!fenceHolds(fence, row?.epoch)) throw new CoordinatorSupersededError(runId, fence.epoch, row?.epoch ?? 0);
  }

  async appendEvents(events: readonly StepwiseEvent[], fence?: Fence): Promise<void> {
    if (events.length === 0) return;
    this.run(`appending ${events.length} events`, (db) => {
      const { lastSeq, insert } = this.eventStatements(db);
      // IMMEDIATE: take the write lock before reading the last seq, so another process cannot read the same one.
      db.transaction(() => {
        for (const [runId, group] of groupByRun(events)) {
          this.checkFence(db, runId, fence);
          const last = lastSeq.get(runId) as { last_seq: number } | undefined;
          const chunk = encodeChunk(runId, (last?.last_seq ?? 0) + 1, group);
          insert.run(chunk.runId, chunk.firstSeq, chunk.lastSeq, chunk.events);
        }
      }).immediate();
    });
  }

  async getEvents(runId: string, filter: EventFilter = {}): Promise<StoredEvent[]> {
    if (filter.types?.length === 0 || filter.limit === 0) return [];
    return this.run(`reading events of run '${runId}'`, (db) => {
      const out: StoredEvent[] = [];
      // iterate() reads row by row, so a limited read stops without loading the rest of the log.
      for (const row of this.eventStatements(db).read.iterate({ runId, afterSeq: filter.afterSeq ?? 0 })) {
        const { first_seq, events } = row as { first_seq: number; events: string };
        if (collectChunk(first_seq, events, filter, out)) break;
      }
      return out;
    });
  }

  async takeLease(runId: string, request: LeaseRequest): Promise<LeaseAnswer> {
    return this.run(`taking the lease of run '${runId}'`, (db) =>
      // IMMEDIATE: the read and the write are one decision under the database's write lock.
      db
        .transaction(() => {
          const answer = decideLease(runId, readLease(db, runId), request);
          if (answer.taken) {
            db.prepare(`INSERT OR REPLACE INTO run_leases (${LEASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
              ...leaseParams(answer.lease),
            );
          }
          return answer;
        })
        .immediate(),
    );
  }

  async renewLease(runId: string, epoch: number, now: number, ttlMs: number): Promise<boolean> {
    return this.run(`renewing the lease of run '${runId}'`, (db) => {
      const result = db
        .prepare('UPDATE run_leases SET renewed_at = ?, expires_at = ? WHERE run_id = ? AND epoch = ?')
        .run(now, now + ttlMs, runId, epoch);
      return result.changes === 1;
    });
  }

  async getLease(runId: string): Promise<RunLease | undefined> {
    return this.run(`reading the lease of run '${runId}'`, (db) => readLease(db, runId));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.db?.close();
    this.db = undefined;
    this.statements = undefined;
  }
}

function readLease(db: Database.Database, runId: string): RunLease | undefined {
  const row = db.prepare(`SELECT ${LEASE_COLUMNS} FROM run_leases WHERE run_id = ?`).get(runId) as LeaseRow | undefined;
  return row && leaseOfRow(row);
}

/**
 * Sets WAL mode, retrying while another connection holds the lock: SQLite answers SQLITE_BUSY at once, without its
 * busy handler, when two processes switch a new database to WAL together.
 */
function switchToWal(db: Database.Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      // Opening is synchronous (better-sqlite3): wait without spinning.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    }
  }
}
