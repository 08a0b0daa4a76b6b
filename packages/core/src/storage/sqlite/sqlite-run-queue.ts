import type Database from 'better-sqlite3';
import {
  type DaemonHeartbeat,
  type DequeueChooser,
  IN_PROGRESS_RUN_STATUSES,
  type QueueRunView,
  type RunClaim,
  type RunStatus,
} from '../run-storage.js';

/** The run queue's and the daemons' statements on a SQLite database (see SqliteRunStorage). */

/**
 * One dequeue decision under the database's write lock (BEGIN IMMEDIATE), so daemons in other processes wait for
 * it and then see its picks as in progress. Returns the picked rows as now stored.
 */
export function dequeue(db: Database.Database, choose: DequeueChooser, claim: RunClaim): string[] {
  return db
    .transaction(() => {
      const statuses: RunStatus[] = ['QUEUED', ...IN_PROGRESS_RUN_STATUSES];
      const rows = db
        .prepare(
          `SELECT run_id, status, tags, rowid AS ord FROM runs
           WHERE status IN (${statuses.map(() => '?').join(', ')}) ORDER BY rowid`,
        )
        .all(...statuses) as Array<{ run_id: string; status: RunStatus; tags: string; ord: number }>;
      const queued: QueueRunView[] = [];
      const inProgress: QueueRunView[] = [];
      for (const row of rows) {
        const view = { runId: row.run_id, status: row.status, tags: parseTags(row.tags), order: row.ord };
        (row.status === 'QUEUED' ? queued : inProgress).push(view);
      }
      if (queued.length === 0) return [];
      const picked = choose(queued, inProgress);
      const update = db.prepare(
        `UPDATE runs SET status = 'STARTING', claim_owner = ?, claimed_at = ?, updated_at = MAX(?, updated_at + 1)
         WHERE run_id = ? AND status = 'QUEUED'`,
      );
      return picked.filter((runId) => update.run(claim.owner, claim.at, Date.now(), runId).changes > 0);
    })
    .immediate();
}

/** A row's tags for the queue; a hand-edited, unreadable value counts as none (its launch fails with the cause). */
function parseTags(text: string): Record<string, string> {
  try {
    const tags = JSON.parse(text);
    return tags !== null && typeof tags === 'object' && !Array.isArray(tags) ? tags : {};
  } catch {
    return {};
  }
}

export function putHeartbeat(db: Database.Database, hb: DaemonHeartbeat): void {
  db.prepare(
    `INSERT INTO daemon_heartbeats (daemon_id, host, pid, started_at, updated_at, loops) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (daemon_id) DO UPDATE SET updated_at = excluded.updated_at, loops = excluded.loops`,
  ).run(hb.daemonId, hb.host, hb.pid, hb.startedAt, hb.updatedAt, JSON.stringify(hb.loops));
}

export function listHeartbeats(db: Database.Database): DaemonHeartbeat[] {
  const rows = db.prepare('SELECT * FROM daemon_heartbeats ORDER BY started_at').all() as Array<{
    daemon_id: string;
    host: string;
    pid: number;
    started_at: number;
    updated_at: number;
    loops: string;
  }>;
  return rows.map((r) => ({
    daemonId: r.daemon_id,
    host: r.host,
    pid: r.pid,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    loops: JSON.parse(r.loops),
  }));
}

export function deleteHeartbeat(db: Database.Database, daemonId: string): void {
  db.prepare('DELETE FROM daemon_heartbeats WHERE daemon_id = ?').run(daemonId);
}
