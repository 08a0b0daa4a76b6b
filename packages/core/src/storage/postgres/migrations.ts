import type { PoolClient } from 'pg';

/** One schema step, given the quoted schema name. Versions apply in order, each once; add, never edit. */
export interface PostgresMigration {
  version: number;
  sql: (schema: string) => string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    sql: (s) => `
      CREATE TABLE ${s}.runs (
        run_id text PRIMARY KEY,
        pipeline text NOT NULL,
        status text NOT NULL,
        run_config json NOT NULL,
        plan json NOT NULL,
        tags json NOT NULL,
        parent_run_id text,
        root_run_id text,
        created_at bigint NOT NULL,
        started_at bigint,
        ended_at bigint,
        updated_at bigint NOT NULL
      );
      CREATE INDEX runs_status ON ${s}.runs (status, created_at);
      CREATE INDEX runs_pipeline ON ${s}.runs (pipeline, created_at);
      CREATE INDEX runs_created_at ON ${s}.runs (created_at);
      CREATE TABLE ${s}.run_tags (
        run_id text NOT NULL,
        key text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (run_id, key)
      );
      CREATE INDEX run_tags_key_value ON ${s}.run_tags (key, value);
      -- body is json, not jsonb: jsonb rejects \\u0000, which captured output may contain.
      CREATE TABLE ${s}.events (
        run_id text NOT NULL,
        seq integer NOT NULL,
        type text NOT NULL,
        step_key text,
        timestamp bigint NOT NULL,
        body json NOT NULL,
        PRIMARY KEY (run_id, seq)
      );
      CREATE INDEX events_step ON ${s}.events (run_id, step_key, seq);
    `,
  },
  {
    // Event logs as chunks (see storage/event-chunks.ts): one row per appended batch of a run, not per event.
    // A chunk is written once and read whole: EXTERNAL skips compressing it (CPU on every append) but still
    // moves large ones out of line.
    version: 2,
    sql: (s) => `
      CREATE TABLE ${s}.event_chunks (
        run_id text NOT NULL,
        first_seq integer NOT NULL,
        last_seq integer NOT NULL,
        events text NOT NULL,
        PRIMARY KEY (run_id, first_seq)
      );
      ALTER TABLE ${s}.event_chunks ALTER COLUMN events SET STORAGE EXTERNAL;
      INSERT INTO ${s}.event_chunks (run_id, first_seq, last_seq, events)
        SELECT run_id, seq, seq, '[' || body::text || ']' FROM ${s}.events;
      DROP TABLE ${s}.events;
    `,
  },
  {
    // The cursor of a live runs list (RunFilter.updatedSince).
    version: 3,
    sql: (s) => `CREATE INDEX runs_updated_at ON ${s}.runs (updated_at);`,
  },
  {
    // The daemon (docs/daemon.md): who claimed a run's last decision, resume attempts, submission order (created_at
    // ties within a millisecond), and the daemons' heartbeats.
    version: 4,
    sql: (s) => `
      ALTER TABLE ${s}.runs ADD COLUMN claim_owner text, ADD COLUMN claimed_at bigint,
        ADD COLUMN resume_attempts integer NOT NULL DEFAULT 0, ADD COLUMN queue_order bigserial;
      CREATE TABLE ${s}.daemon_heartbeats (
        daemon_id text PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        started_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        loops json NOT NULL
      );
    `,
  },
  {
    // The coordinator lease of each run (storage/run-lease.ts): a table of its own, one row per run ever driven.
    version: 5,
    sql: (s) => `
      CREATE TABLE ${s}.run_leases (
        run_id text PRIMARY KEY,
        owner_id text NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        epoch integer NOT NULL,
        renewed_at bigint NOT NULL,
        expires_at bigint NOT NULL
      );
    `,
  },
  {
    // The scheduler (docs/scheduler.md): each schedule's row (status, cursor, definition hash) and its ticks, whose
    // primary key is the claim: racing schedulers insert it once.
    version: 6,
    sql: (s) => `
      CREATE TABLE ${s}.schedules (
        name text PRIMARY KEY,
        status text NOT NULL,
        cursor bigint,
        definition_hash text NOT NULL,
        updated_at bigint NOT NULL
      );
      CREATE TABLE ${s}.schedule_ticks (
        schedule text NOT NULL,
        scheduled_at text NOT NULL,
        status text NOT NULL,
        run_ids text NOT NULL,
        reason text,
        error text,
        claimed_by text NOT NULL,
        lease_expires_at bigint NOT NULL,
        attempt integer NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (schedule, scheduled_at)
      );
    `,
  },
  {
    // Overlap 'buffer-one' (docs/scheduler.md): the one instant held on the schedule's row until its running run ends.
    version: 7,
    sql: (s) => `ALTER TABLE ${s}.schedules ADD COLUMN buffered_at bigint;`,
  },
  {
    // The run queue's wake-up (postgres-queue-watch.ts): a NOTIFY when a run is submitted or reaches an end status,
    // by any writer (a hand edit too), delivered at commit. And the runs whose status a hand edit made unknown, which
    // the daemon's monitor fails: a partial index, empty unless someone broke a row.
    version: 8,
    sql: (s) => `
      CREATE FUNCTION ${s}.notify_run_queue() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${RUN_QUEUE_CHANNEL}', TG_TABLE_SCHEMA);
        RETURN NULL;
      END $$;
      CREATE TRIGGER runs_queue_insert AFTER INSERT ON ${s}.runs FOR EACH ROW
        WHEN (NEW.status = 'QUEUED') EXECUTE FUNCTION ${s}.notify_run_queue();
      CREATE TRIGGER runs_queue_update AFTER UPDATE OF status ON ${s}.runs FOR EACH ROW
        WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('QUEUED', 'SUCCESS', 'FAILURE', 'CANCELED'))
        EXECUTE FUNCTION ${s}.notify_run_queue();
      CREATE INDEX runs_unknown_status ON ${s}.runs (run_id) WHERE status NOT IN ('QUEUED', 'STARTING', 'STARTED', 'CANCELING', 'SUCCESS', 'FAILURE', 'CANCELED');
    `,
  },
];

/** The channel of the run queue's NOTIFY; the payload is the schema, so daemons of other schemas ignore it. */
export const RUN_QUEUE_CHANNEL = 'stepwise_run_queue';

/** First key of every advisory lock Stepwise takes ('SW' + 1), so they do not collide with other apps' locks. */
export const LOCK_NAMESPACE_MIGRATE = 0x53570001;
export const LOCK_NAMESPACE_RUN = 0x53570002;
/** The run queue's lock: one dequeue decision at a time across every daemon. */
export const LOCK_NAMESPACE_QUEUE = 0x53570003;

/**
 * Brings the schema up to date. Holds a session advisory lock keyed by the schema name for the whole
 * migration, so processes initialising concurrently apply each migration exactly once.
 *
 * @param schema the schema name, already validated as a plain identifier
 */
export async function migratePostgres(client: PoolClient, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_NAMESPACE_MIGRATE, schema]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
    );
    const { rows } = await client.query<{ v: number }>(
      `SELECT coalesce(max(version), 0) AS v FROM ${s}.schema_version`,
    );
    const current = rows[0]?.v ?? 0;
    for (const m of POSTGRES_MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql(s));
        await client.query(`INSERT INTO ${s}.schema_version (version, applied_at) VALUES ($1, $2)`, [
          m.version,
          Date.now(),
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE_MIGRATE, schema]).catch(() => {});
  }
}
