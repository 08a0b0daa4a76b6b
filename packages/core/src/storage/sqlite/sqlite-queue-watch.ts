import type Database from 'better-sqlite3';
import type { RunQueueWatch } from '../run-storage.js';

/** How often a daemon reads the run queue's change counter: one indexed single-row read, microseconds each. */
export const SQLITE_QUEUE_POLL_MS = 50;

/**
 * The run queue's wake-up on SQLite: SQLite has no notifications across processes, so the daemon polls the counter
 * that migration 8's triggers raise when a run is submitted or ends, and calls `onChange` when it moved.
 */
export function watchSqliteQueue(
  open: () => Database.Database,
  onChange: () => void,
  pollMs = SQLITE_QUEUE_POLL_MS,
): RunQueueWatch {
  let last: number | undefined;
  const read = () => (open().prepare('SELECT n FROM run_queue_changes WHERE id = 1').get() as { n: number }).n;
  const timer = setInterval(() => {
    let n: number;
    try {
      n = read();
    } catch {
      // A busy or closed database: the daemon's interval still dequeues; try again on the next tick.
      return;
    }
    if (last !== undefined && n !== last) onChange();
    last = n;
  }, pollMs);
  // The daemon's loops keep its process alive, not this timer.
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
    },
  };
}
