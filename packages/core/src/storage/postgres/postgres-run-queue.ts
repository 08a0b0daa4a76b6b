import type pg from 'pg';
import {
  type DaemonHeartbeat,
  type DequeueChooser,
  IN_PROGRESS_RUN_STATUSES,
  type QueueRunView,
  type RunClaim,
  type RunStatus,
} from '../run-storage.js';
import { LOCK_NAMESPACE_QUEUE } from './migrations.js';

/** The run queue's and the daemons' statements on PostgreSQL (see PostgresRunStorage); `s` is the quoted schema. */

/**
 * One dequeue decision inside the caller's transaction, under a transaction-scoped advisory lock on the queue: a
 * daemon on another host waits for it and then sees its picks as in progress. Returns the picked rows.
 */
export async function dequeue(
  client: pg.PoolClient,
  s: string,
  choose: DequeueChooser,
  claim: RunClaim,
): Promise<string[]> {
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE_QUEUE, s]);
  const statuses: RunStatus[] = ['QUEUED', ...IN_PROGRESS_RUN_STATUSES];
  const { rows } = await client.query<{ run_id: string; status: RunStatus; tags: Record<string, string>; ord: string }>(
    `SELECT run_id, status, tags, queue_order AS ord FROM ${s}.runs WHERE status = ANY($1::text[]) ORDER BY queue_order`,
    [statuses],
  );
  const queued: QueueRunView[] = [];
  const inProgress: QueueRunView[] = [];
  for (const row of rows) {
    // A hand-edited value that is not an object counts as no tags (its launch fails with the cause).
    const tags = row.tags !== null && typeof row.tags === 'object' && !Array.isArray(row.tags) ? row.tags : {};
    const view = { runId: row.run_id, status: row.status, tags, order: Number(row.ord) };
    (row.status === 'QUEUED' ? queued : inProgress).push(view);
  }
  if (queued.length === 0) return [];
  const picked = choose(queued, inProgress);
  if (picked.length === 0) return [];
  const result = await client.query(
    `UPDATE ${s}.runs SET status = 'STARTING', claim_owner = $2, claimed_at = $3, updated_at = GREATEST($4, updated_at + 1)
     WHERE run_id = ANY($1::text[]) AND status = 'QUEUED' RETURNING run_id`,
    [picked, claim.owner, claim.at, Date.now()],
  );
  // RETURNING has no order: keep the policy's.
  const claimed = new Set(result.rows.map((r: { run_id: string }) => r.run_id));
  return picked.filter((id) => claimed.has(id));
}

export async function putHeartbeat(client: pg.PoolClient, s: string, hb: DaemonHeartbeat): Promise<void> {
  await client.query(
    `INSERT INTO ${s}.daemon_heartbeats (daemon_id, host, pid, started_at, updated_at, loops)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (daemon_id) DO UPDATE SET updated_at = excluded.updated_at, loops = excluded.loops`,
    [hb.daemonId, hb.host, hb.pid, hb.startedAt, hb.updatedAt, JSON.stringify(hb.loops)],
  );
}

export async function listHeartbeats(client: pg.PoolClient, s: string): Promise<DaemonHeartbeat[]> {
  const { rows } = await client.query<{
    daemon_id: string;
    host: string;
    pid: number;
    started_at: string;
    updated_at: string;
    loops: DaemonHeartbeat['loops'];
  }>(`SELECT * FROM ${s}.daemon_heartbeats ORDER BY started_at`);
  return rows.map((r) => ({
    daemonId: r.daemon_id,
    host: r.host,
    pid: r.pid,
    startedAt: Number(r.started_at),
    updatedAt: Number(r.updated_at),
    loops: r.loops,
  }));
}

export async function deleteHeartbeat(client: pg.PoolClient, s: string, daemonId: string): Promise<void> {
  await client.query(`DELETE FROM ${s}.daemon_heartbeats WHERE daemon_id = $1`, [daemonId]);
}
