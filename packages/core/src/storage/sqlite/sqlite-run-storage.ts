import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { NotFoundError, StorageError } from '../../errors/index.js';
import type { StepwiseEvent, StoredEvent } from '../../events/events.js';
import { collectChunk, encodeChunk, groupByRun } from '../event-chunks.js';
import type { EventFilter, RunFilter, RunPatch, RunRecord, RunStatus, RunStorage } from '../run-storage.js';
import { migrateSqlite } from './migrations.js';

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
}

interface RunRow {
  run_id: string;
  pipeline: string;
  status: string;
  run_config: string;
  plan: string;
  tags: string;
  parent_run_id: string | null;
  root_run_id: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  updated_at: number;
}

function toRecord(row: RunRow): RunRecord {
  const run: RunRecord = {
    runId: row.run_id,
    pipeline: row.pipeline,
    status: row.status as RunStatus,
    runConfig: JSON.parse(row.run_config),
    plan: JSON.parse(row.plan),
    tags: JSON.parse(row.tags),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.parent_run_id !== null) run.parentRunId = row.parent_run_id;
  if (row.root_run_id !== null) run.rootRunId = row.root_run_id;
  if (row.started_at !== null) run.startedAt = row.started_at;
  if (row.ended_at !== null) run.endedAt = row.ended_at;
  return run;
}

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
    let db: Database.Database | undefined;
    try {
      db = new Database(this.file, { timeout: this.busyTimeoutMs });
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
      if (err instanceof NotFoundError || err instanceof StorageError) throw err;
      throw new StorageError(`SQLite storage ${this.file}: ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async createRun(run: RunRecord): Promise<void> {
    this.run(`creating run '${run.runId}'`, (db) => {
      db.transaction(() => {
        const existing = db.prepare('SELECT 1 FROM runs WHERE run_id = ?').get(run.runId);
        if (existing) throw new StorageError(`run '${run.runId}' already exists in ${this.file}`);
        db.prepare(
          `INSERT INTO runs (run_id, pipeline, status, run_config, plan, tags, parent_run_id, root_run_id,
             created_at, started_at, ended_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          run.runId,
          run.pipeline,
          run.status,
          JSON.stringify(run.runConfig ?? null),
          JSON.stringify(run.plan),
          JSON.stringify(run.tags),
          run.parentRunId ?? null,
          run.rootRunId ?? null,
          run.createdAt,
          run.startedAt ?? null,
          run.endedAt ?? null,
          run.updatedAt,
        );
        this.writeTags(db, run.runId, run.tags);
      }).immediate();
    });
  }

  private writeTags(db: Database.Database, runId: string, tags: Record<string, string>): void {
    db.prepare('DELETE FROM run_tags WHERE run_id = ?').run(runId);
    const insert = db.prepare('INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)');
    for (const [key, value] of Object.entries(tags)) insert.run(runId, key, value);
  }

  async updateRun(runId: string, patch: RunPatch): Promise<void> {
    this.run(`updating run '${runId}'`, (db) => {
      db.transaction(() => {
        const sets: string[] = ['updated_at = ?'];
        const params: unknown[] = [Date.now()];
        if (patch.status !== undefined) {
          sets.push('status = ?');
          params.push(patch.status);
        }
        if (patch.startedAt !== undefined) {
          sets.push('started_at = ?');
          params.push(patch.startedAt);
        }
        if (patch.endedAt !== undefined) {
          sets.push('ended_at = ?');
          params.push(patch.endedAt);
        }
        if (patch.tags !== undefined) {
          sets.push('tags = ?');
          params.push(JSON.stringify(patch.tags));
        }
        const result = db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE run_id = ?`).run(...params, runId);
        if (result.changes === 0) throw new NotFoundError(`run '${runId}' not found`);
        if (patch.tags !== undefined) this.writeTags(db, runId, patch.tags);
      }).immediate();
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.run(`reading run '${runId}'`, (db) => {
      const row = db.prepare('SELECT * FROM runs WHERE run_id = ?').get(runId) as RunRow | undefined;
      return row && toRecord(row);
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

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    return this.run('listing runs', (db) => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.status) {
        if (filter.status.length === 0) return [];
        where.push(`status IN (${filter.status.map(() => '?').join(', ')})`);
        params.push(...filter.status);
      }
      if (filter.pipeline !== undefined) {
        where.push('pipeline = ?');
        params.push(filter.pipeline);
      }
      for (const [key, value] of Object.entries(filter.tags ?? {})) {
        where.push('run_id IN (SELECT run_id FROM run_tags WHERE key = ? AND value = ?)');
        params.push(key, value);
      }
      if (filter.updatedSince !== undefined) {
        where.push('updated_at >= ?');
        params.push(filter.updatedSince);
      }
      const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, rowid DESC LIMIT ?`;
      const rows = db.prepare(sql).all(...params, filter.limit ?? 100) as RunRow[];
      return rows.map(toRecord);
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
    };
    return this.statements;
  }

  async appendEvents(events: readonly StepwiseEvent[]): Promise<void> {
    if (events.length === 0) return;
    this.run(`appending ${events.length} events`, (db) => {
      const { lastSeq, insert } = this.eventStatements(db);
      // IMMEDIATE: take the write lock before reading the last seq, so another process cannot read the same one.
      db.transaction(() => {
        for (const [runId, group] of groupByRun(events)) {
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

  async close(): Promise<void> {
    this.closed = true;
    this.db?.close();
    this.db = undefined;
    this.statements = undefined;
  }
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
