import type pg from 'pg';
import { CoordinatorSupersededError } from '../../errors/index.js';
import {
  decideLease,
  type Fence,
  fenceHolds,
  type LeaseAnswer,
  type LeaseRequest,
  type RunLease,
} from '../run-lease.js';
import { LEASE_COLUMNS, type LeaseRow, leaseOfRow, leaseParams } from '../run-lease-row.js';

/*
 * The coordinator leases of PostgreSQL storage (storage/run-lease.ts). Takes and fence checks run inside a transaction
 * holding the run's advisory lock (PostgresRunStorage.lockRuns), so a take and a fenced write never interleave.
 * `s` is the quoted schema.
 */

export async function readLease(client: pg.PoolClient, s: string, runId: string): Promise<RunLease | undefined> {
  const { rows } = await client.query<LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM ${s}.run_leases WHERE run_id = $1`, [
    runId,
  ]);
  return rows[0] && leaseOfRow(rows[0]);
}

export async function takeLease(
  client: pg.PoolClient,
  s: string,
  runId: string,
  request: LeaseRequest,
): Promise<LeaseAnswer> {
  const answer = decideLease(runId, await readLease(client, s, runId), request);
  if (answer.taken) {
    await client.query(
      `INSERT INTO ${s}.run_leases (${LEASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (run_id) DO UPDATE SET owner_id = EXCLUDED.owner_id, host = EXCLUDED.host, pid = EXCLUDED.pid,
         epoch = EXCLUDED.epoch, renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at`,
      leaseParams(answer.lease),
    );
  }
  return answer;
}

/** Extends the lease of `epoch`; false when another take replaced it. Needs no lock: one conditional UPDATE. */
export async function renewLease(
  client: pg.PoolClient,
  s: string,
  runId: string,
  epoch: number,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const result = await client.query(
    `UPDATE ${s}.run_leases SET renewed_at = $3, expires_at = $4 WHERE run_id = $1 AND epoch = $2`,
    [runId, epoch, now, now + ttlMs],
  );
  return result.rowCount === 1;
}

/** Throws when the lease of one of `runIds` has a newer epoch than `fence`. */
export async function checkFences(
  client: pg.PoolClient,
  s: string,
  runIds: readonly string[],
  fence: Fence,
): Promise<void> {
  const { rows } = await client.query<{ run_id: string; epoch: number }>(
    `SELECT run_id, epoch FROM ${s}.run_leases WHERE run_id = ANY($1::text[])`,
    [runIds],
  );
  for (const row of rows) {
    if (!fenceHolds(fence, row.epoch)) throw new CoordinatorSupersededError(row.run_id, fence.epoch, row.epoch);
  }
}
