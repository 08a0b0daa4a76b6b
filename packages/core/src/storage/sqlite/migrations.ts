import type Database from 'better-sqlite3';

/** One schema step. Versions are applied in order, each once; never edit a released migration, add one. */
export interface SqliteMigration {
  version: number;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        status TEXT NOT NULL,
        run_config TEXT NOT NULL,
        plan TEXT NOT NULL,
        tags TEXT NOT NULL,
        parent_run_id TEXT,
        root_run_id TEXT,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        ended_at INTEGER,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX runs_status ON runs (status, created_at);
      CREATE INDEX runs_pipeline ON runs (pipeline, created_at);
      CREATE INDEX runs_created_at ON runs (created_at);
      CREATE TABLE run_tags (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      ) WITHOUT ROWID;
      CREATE INDEX run_tags_key_value ON run_tags (key, value);
      CREATE TABLE events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        step_key TEXT,
        timestamp INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;
      CREATE INDEX events_step ON events (run_id, step_key, seq);
    `,
  },
  {
    // Event logs as chunks (see storage/event-chunks.ts): one row per appended batch of a run, not per event.
    // A rowid table: chunks are large rows, which WITHOUT ROWID tables store badly.
    version: 2,
    sql: `
      CREATE TABLE event_chunks (
        run_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        events TEXT NOT NULL,
        PRIMARY KEY (run_id, first_seq)
      );
      INSERT INTO event_chunks (run_id, first_seq, last_seq, events)
        SELECT run_id, seq, seq, '[' || body || ']' FROM events;
      DROP TABLE events;
    `,
  },
  {
    // The cursor of a live runs list (RunFilter.updatedSince).
    version: 3,
    sql: 'CREATE INDEX runs_updated_at ON runs (updated_at);',
  },
  {
    // The daemon (docs/daemon.md): who claimed a run's last decision, resume attempts, and the daemons' heartbeats.
    version: 4,
    sql: `
      ALTER TABLE runs ADD COLUMN claim_owner TEXT;
      ALTER TABLE runs ADD COLUMN claimed_at INTEGER;
      ALTER TABLE runs ADD COLUMN resume_attempts INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE daemon_heartbeats (
        daemon_id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        loops TEXT NOT NULL
      );
    `,
  },
  {
    // The coordinator lease of each run (storage/run-lease.ts): a table of its own, one row per run ever driven.
    version: 5,
    sql: `
      CREATE TABLE run_leases (
        run_id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        renewed_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    // The scheduler (docs/scheduler.md): each schedule's row (status, cursor, definition hash) and its ticks, whose
    // primary key is the claim: racing schedulers insert it once.
    version: 6,
    sql: `
      CREATE TABLE schedules (
        name TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        cursor INTEGER,
        definition_hash TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE schedule_ticks (
        schedule TEXT NOT NULL,
        scheduled_at TEXT NOT NULL,
        status TEXT NOT NULL,
        run_ids TEXT NOT NULL,
        reason TEXT,
        error TEXT,
        claimed_by TEXT NOT NULL,
        lease_expires_at INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (schedule, scheduled_at)
      );
    `,
  },
  {
    // Overlap 'buffer-one' (docs/scheduler.md): the one instant held on the schedule's row until its running run ends.
    version: 7,
    sql: 'ALTER TABLE schedules ADD COLUMN buffered_at INTEGER;',
  },
  {
    // The run queue's wake-up (sqlite-queue-watch.ts): a counter that goes up when a run is submitted or reaches an
    // end status, by any writer (a hand edit too), which a daemon polls cheaply. And the runs whose status a hand
    // edit made unknown, which the daemon's monitor fails: a partial index, empty unless someone broke a row.
    version: 8,
    sql: `
      CREATE TABLE run_queue_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
      INSERT INTO run_queue_changes VALUES (1, 0);
      CREATE TRIGGER runs_queue_insert AFTER INSERT ON runs FOR EACH ROW WHEN NEW.status = 'QUEUED'
        BEGIN UPDATE run_queue_changes SET n = n + 1; END;
      CREATE TRIGGER runs_queue_update AFTER UPDATE OF status ON runs FOR EACH ROW
        WHEN OLD.status IS NOT NEW.status AND NEW.status IN ('QUEUED', 'SUCCESS', 'FAILURE', 'CANCELED')
        BEGIN UPDATE run_queue_changes SET n = n + 1; END;
      CREATE INDEX runs_unknown_status ON runs (run_id) WHERE status NOT IN ('QUEUED', 'STARTING', 'STARTED', 'CANCELING', 'SUCCESS', 'FAILURE', 'CANCELED');
    `,
  },
];

/**
 * Brings the schema up to date. Runs under BEGIN IMMEDIATE, which takes the database's write lock before
 * reading the version, so two processes initialising the same file at once apply each migration once.
 */
export function migrateSqlite(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const apply = db.transaction(() => {
    const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null };
    const current = row.v ?? 0;
    for (const m of SQLITE_MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
    }
  });
  apply.immediate();
}
