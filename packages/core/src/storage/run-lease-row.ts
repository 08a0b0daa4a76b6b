import type { RunLease } from './run-lease.js';

/** A row of the `run_leases` table, as SQLite and PostgreSQL return it (PostgreSQL's bigints as strings). */
export interface LeaseRow {
  run_id: string;
  owner_id: string;
  host: string;
  pid: number | string;
  epoch: number | string;
  renewed_at: number | string;
  expires_at: number | string;
}

export function leaseOfRow(row: LeaseRow): RunLease {
  return {
    runId: row.run_id,
    owner: { id: row.owner_id, host: row.host, pid: Number(row.pid) },
    epoch: Number(row.epoch),
    renewedAt: Number(row.renewed_at),
    expiresAt: Number(row.expires_at),
  };
}

/** The row values of a lease, in the column order of the upserts. */
export function leaseParams(lease: RunLease): Array<string | number> {
  return [
    lease.runId,
    lease.owner.id,
    lease.owner.host,
    lease.owner.pid,
    lease.epoch,
    lease.renewedAt,
    lease.expiresAt,
  ];
}

export const LEASE_COLUMNS = 'run_id, owner_id, host, pid, epoch, renewed_at, expires_at';
