import type pg from 'pg';
import { NotFoundError, StepwiseError, StorageError } from '../../errors/index.js';
import type { StepwiseEvent, StoredEvent } from '../../events/events.js';
import { OPTIONAL_DEPENDENCIES, requireOptional } from '../../plugins/optional-dependency.js';
import { collectChunk, encodeChunk, groupByRun } from '../event-chunks.js';
import type { Fence, LeaseAnswer, LeaseRequest, RunLease } from '../run-lease.js';
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
import { LOCK_NAMESPACE_RUN, migratePostgres } from './migrations.js';
import { checkFences, readLease, renewLease, takeLease } from './postgres-leases.js';
import { watchPostgresQueue } from './postgres-queue-watch.js';
import * as queue from './postgres-run-queue.js';
import { PostgresScheduleStore } from './postgres-schedule-store.js';
import { checkedSchema, checkedTarget } from './postgres-target.js';

export interface PostgresRunStorageOptions {
  /** Connection URL, e.g. `postgres://user:pass@host:5432/db`. */
  url: string;
  /** Schema holding Stepwise's tables; created if missing. Default `public`. */
  schema?: string;
  /** How long to wait for a connection before failing, in ms. Default 5 000. */
  connectTimeoutMs?: number;
  /** Maximum pooled connections. Default 10. */
  poolSize?: number;
}

/** pg parses json columns itself. */
const parsed = (column: unknown) => column;

/**
 * Run storage in PostgreSQL: for several machines sharing one instance. Event appends lock each run with a
 * transaction-scoped advisory lock, so any number of writer processes assign gap-free, duplicate-free seqs.
 */
export class PostgresRunStorage implements RunStorage {
  readonly schema: string;
  /** `host:port` of the server, as named in errors. */
  readonly target: string;
  private readonly pool: pg.Pool;
  readonly schedules: PostgresScheduleStore;
  private readonly s: string; // quoted schema, for SQL text
  private readonly options: PostgresRunStorageOptions;
  private readonly watches = new Set<RunQueueWatch>();
  private initialized?: Promise<void>;
  private closed = false;

  constructor(options: PostgresRunStorageOptions) {
    this.target = checkedTarget(options.url);
    this.schema = checkedSchema(options.schema ?? 'public');
    this.options = options;
    this.s = `"${this.schema}"`;
    this.schedules = new PostgresScheduleStore(this.s, (w, f) => this.ready().then(() => this.withClient(w, f)));
    // An optional peer, loaded with the first PostgreSQL storage: most processes never need it (~6 MB RSS).
    const { Pool } = requireOptional<typeof pg>(OPTIONAL_DEPENDENCIES.postgres);
    this.pool = new Pool({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      max: options.poolSize ?? 10,
    });
    // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
    this.pool.on('error', () => {});
  }

  init(): Promise<void> {
    this.initialized ??= this.withClient('migrating the schema', (c) => migratePostgres(c, this.schema)).catch(
      (err) => {
        this.initialized = undefined;
        throw err;
      },
    );
    return this.initialized;
  }

  private connectError(err: unknown): StorageError {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code && !e.message.includes(e.code) ? `${e.code} ${e.message}` : e.message || String(err);
    return new StorageError(
      `could not connect to PostgreSQL at ${this.target}: ${reason.split('\n')[0]}; check storage.postgres.url in stepwise.yaml`,
      { cause: err },
    );
  }

  /** Runs `fn` on a pooled connection; connection failures and query failures become StorageErrors. */
  private async withClient<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError(`PostgreSQL storage at ${this.target} is closed`);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.connectError(err);
    }
    let broken = false;
    try {
      return await fn(client);
    } catch (err) {
      if (StepwiseError.is(err)) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      // Connection-level failure mid-query: do not return this client to the pool.
      broken = code === undefined || /^(E[A-Z]+|08...)$/.test(code);
      throw new StorageError(
        `PostgreSQL storage at ${this.target} (schema ${this.schema}): ${what} failed: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      client.release(broken);
    }
  }

  /** Runs `fn` inside BEGIN/COMMIT on one connection, rolling back on error. */
  private transaction<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(what, async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  private async ready(): Promise<void> {
    await this.init();
  }

  private async writeTags(client: pg.PoolClient, runId: string, tags: Record<string, string>): Promise<void> {
    await client.query(`DELETE FROM ${this.s}.run_tags WHERE run_id = $1`, [runId]);
    const entries = Object.entries(tags);
    if (entries.length === 0) return;
    await client.query(
      `INSERT INTO ${this.s}.run_tags (run_id, key, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t(k, v)`,
      [runId, entries.map(([k]) => k), entries.map(([, v]) => v)],
    );
  }

  async createRun(run: RunRecord): Promise<void> {
    if (!(await this.insertRun(run, `creating run '${run.runId}'`))) {
      throw new StorageError(`run '${run.runId}' already exists`);
    }
  }

  async createRunIfAbsent(run: RunRecord): Promise<{ created: boolean; run: RunRecord }> {
    if (await this.insertRun(run, `getting or creating run '${run.runId}'`)) return { created: true, run };
    // ON CONFLICT waited for a racing insert to commit, so the row is there to read.
    const stored = await this.getRun(run.runId);
    if (!stored) throw new StorageError(`run '${run.runId}' was neither created nor found`);
    return { created: false, run: stored };
  }

  /** Inserts `run`; false when a run of that id exists. */
  private async insertRun(run: RunRecord, what: string): Promise<boolean> {
    await this.ready();
    return this.transaction(what, async (client) => {
      const result = await client.query(
        `INSERT INTO ${this.s}.runs (${RUN_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (run_id) DO NOTHING`,
        runRowValues(run),
      );
      if (result.rowCount === 0) return false;
      await this.writeTags(client, run.runId, run.tags);
      return true;
    });
  }

  async updateRun(runId: string, patch: RunPatch, fence?: Fence): Promise<void> {
    await this.ready();
    await this.transaction(`updating run '${runId}'`, async (client) => {
      if (fence) {
        await this.lockRuns(client, [runId]);
        await checkFences(client, this.s, [runId], fence);
      }
      if (!(await this.patch(client, runId, {}, patch))) throw new NotFoundError(`run '${runId}' not found`);
    });
  }

  /** UPDATE of one run where it matches `expected`; true when a row changed. Call inside a transaction. */
  private async patch(
    client: pg.PoolClient,
    runId: string,
    expected: RunExpectation,
    patch: RunPatch,
  ): Promise<boolean> {
    if (expected.status?.length === 0) return false;
    const params: unknown[] = [runId, Date.now()];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    // Strictly later than the value read: a claim conditional on updatedAt must see any update, even in the same ms.
    const sets = [
      'updated_at = GREATEST($2, updated_at + 1)',
      ...patchColumns(patch).map(([c, v]) => `${c} = ${param(v)}`),
    ];
    const where = ['run_id = $1'];
    if (expected.status) where.push(`status = ANY(${param(expected.status)}::text[])`);
    if (expected.updatedAt !== undefined) where.push(`updated_at = ${param(expected.updatedAt)}`);
    if (expected.claimOwner !== undefined) where.push(`claim_owner = ${param(expected.claimOwner)}`);
    const sql = `UPDATE ${this.s}.runs SET ${sets.join(', ')} WHERE ${where.join(' AND ')}`;
    const result = await client.query(sql, params);
    if (result.rowCount === 0) return false;
    if (patch.tags !== undefined) await this.writeTags(client, runId, patch.tags);
    return true;
  }

  async transitionRun(runId: string, expected: RunExpectation, patch: RunPatch): Promise<boolean> {
    await this.ready();
    return this.transaction(`updating run '${runId}'`, (client) => this.patch(client, runId, expected, patch));
  }

  async dequeueRuns(choose: DequeueChooser, claim: RunClaim): Promise<string[]> {
    await this.ready();
    return this.transaction('dequeuing runs', (client) => queue.dequeue(client, this.s, choose, claim));
  }

  watchRunQueue(onChange: () => void): RunQueueWatch {
    const { url, connectTimeoutMs = 5_000 } = this.options;
    const watch = watchPostgresQueue({ url, schema: this.schema, connectTimeoutMs }, onChange);
    this.watches.add(watch);
    return {
      close: () => {
        this.watches.delete(watch);
        return watch.close();
      },
    };
  }

  async putDaemonHeartbeat(heartbeat: DaemonHeartbeat): Promise<void> {
    await this.ready();
    await this.withClient(`recording the heartbeat of daemon '${heartbeat.daemonId}'`, (client) =>
      queue.putHeartbeat(client, this.s, heartbeat),
    );
  }

  async listDaemonHeartbeats(): Promise<DaemonHeartbeat[]> {
    await this.ready();
    return this.withClient('listing daemon heartbeats', (client) => queue.listHeartbeats(client, this.s));
  }

  async deleteDaemonHeartbeat(daemonId: string): Promise<void> {
    await this.ready();
    await this.withClient(`removing the heartbeat of daemon '${daemonId}'`, (client) =>
      queue.deleteHeartbeat(client, this.s, daemonId),
    );
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    await this.ready();
    return this.withClient(`reading run '${runId}'`, async (client) => {
      const { rows } = await client.query<RunRow>(`SELECT * FROM ${this.s}.runs WHERE run_id = $1`, [runId]);
      return rows[0] && recordFromRow(rows[0], parsed);
    });
  }

  async getRunStatus(runId: string): Promise<{ status: RunStatus; updatedAt: number } | undefined> {
    await this.ready();
    return this.withClient(`reading run '${runId}'`, async (client) => {
      const { rows } = await client.query<{ status: RunStatus; updated_at: string | number }>(
        `SELECT status, updated_at FROM ${this.s}.runs WHERE run_id = $1`,
        [runId],
      );
      const row = rows[0];
      return row && { status: row.status, updatedAt: Number(row.updated_at) };
    });
  }

  async listRuns(filter: RunFilter = {}, options?: ListRunsOptions): Promise<RunRecord[]> {
    await this.ready();
    if (filter.status?.length === 0) return [];
    return this.withClient('listing runs', async (client) => {
      const params: unknown[] = [];
      const param = (value: unknown) => {
        params.push(value);
        return `$${params.length}`;
      };
      const where = runFilterConditions(filter, param, `${this.s}.run_tags`);
      const { rows } = await client.query<RunRow>(
        `SELECT * FROM ${this.s}.runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at DESC, run_id DESC LIMIT ${param(filter.limit ?? 100)}`,
        params,
      );
      return recordsFromRows(rows, parsed, options);
    });
  }

  /** Locks each run for the transaction (appends, takes, fenced writes), in key order so no two deadlock. */
  private async lockRuns(client: pg.PoolClient, runIds: readonly string[]): Promise<void> {
    await client.query(
      `SELECT pg_advisory_xact_lock($1, h) FROM (SELECT DISTINCT hashtext(r) AS h FROM unnest($2::text[]) AS r ORDER BY h) AS locks`,
      [LOCK_NAMESPACE_RUN, runIds],
    );
  }

  async appendEvents(events: readonly StepwiseEvent[], fence?: Fence): Promise<void> {
    if (events.length === 0) return;
    await this.ready();
    await this.transaction(`appending ${events.length} events`, async (client) => {
      const runIds = [...new Set(events.map((e) => e.runId))];
      await this.lockRuns(client, runIds);
      if (fence) await checkFences(client, this.s, runIds, fence);
      // The last seq of each run: the newest chunk's, found through the primary key.
      const { rows } = await client.query<{ run_id: string; last: number | null }>(
        `SELECT r AS run_id,
           (SELECT last_seq FROM ${this.s}.event_chunks c WHERE c.run_id = r ORDER BY first_seq DESC LIMIT 1) AS last
         FROM unnest($1::text[]) AS r`,
        [runIds],
      );
      const last = new Map(rows.map((r) => [r.run_id, r.last ?? 0]));
      // One row per run: a batch almost always holds one run, and plain parameters skip pg's array escaping.
      for (const [runId, group] of groupByRun(events)) {
        const chunk = encodeChunk(runId, (last.get(runId) ?? 0) + 1, group);
        await client.query(
          `INSERT INTO ${this.s}.event_chunks (run_id, first_seq, last_seq, events) VALUES ($1, $2, $3, $4)`,
          [chunk.runId, chunk.firstSeq, chunk.lastSeq, chunk.events],
        );
      }
    });
  }

  async getEvents(runId: string, filter: EventFilter = {}): Promise<StoredEvent[]> {
    await this.ready();
    if (filter.types?.length === 0 || filter.limit === 0) return [];
    return this.withClient(`reading events of run '${runId}'`, async (client) => {
      const out: StoredEvent[] = [];
      // From the chunk holding seq afterSeq + 1 (the last chunk starting at or before it) onwards; a limited read
      // goes page by page so that it stops without loading the rest of the log.
      let from = Number(
        (
          await client.query<{ s: number | null }>(
            `SELECT max(first_seq) AS s FROM ${this.s}.event_chunks WHERE run_id = $1 AND first_seq <= $2`,
            [runId, (filter.afterSeq ?? 0) + 1],
          )
        ).rows[0]?.s ?? 0,
      );
      const page = filter.limit === undefined ? null : 16;
      for (;;) {
        const { rows } = await client.query<{ first_seq: number; events: string }>(
          `SELECT first_seq, events FROM ${this.s}.event_chunks WHERE run_id = $1 AND first_seq >= $2
           ORDER BY first_seq${page === null ? '' : ` LIMIT ${page}`}`,
          [runId, from],
        );
        for (const row of rows) {
          if (collectChunk(row.first_seq, row.events, filter, out)) return out;
        }
        const lastRow = rows.at(-1);
        if (page === null || rows.length < page || !lastRow) return out;
        from = lastRow.first_seq + 1;
      }
    });
  }

  async takeLease(runId: string, request: LeaseRequest): Promise<LeaseAnswer> {
    await this.ready();
    return this.transaction(`taking the lease of run '${runId}'`, async (client) => {
      await this.lockRuns(client, [runId]);
      return takeLease(client, this.s, runId, request);
    });
  }

  async renewLease(runId: string, epoch: number, now: number, ttlMs: number): Promise<boolean> {
    await this.ready();
    return this.withClient(`renewing the lease of run '${runId}'`, (c) =>
      renewLease(c, this.s, runId, epoch, now, ttlMs),
    );
  }

  async getLease(runId: string): Promise<RunLease | undefined> {
    await this.ready();
    return this.withClient(`reading the lease of run '${runId}'`, (client) => readLease(client, this.s, runId));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.close()));
    await this.pool.end();
  }
}
