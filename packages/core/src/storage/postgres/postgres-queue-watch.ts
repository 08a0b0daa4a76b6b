import { createRequire } from 'node:module';
import type pg from 'pg';
import type { RunQueueWatch } from '../run-storage.js';
import { RUN_QUEUE_CHANNEL } from './migrations.js';

export interface QueueWatchOptions {
  url: string;
  schema: string;
  connectTimeoutMs: number;
  /** Longest wait between reconnection attempts. Default 5 000 ms. */
  maxBackoffMs?: number;
}

/** The application_name of a daemon's LISTEN connection, so that operators (and tests) can find it in pg_stat_activity. */
export const queueWatchApplicationName = (schema: string) => `stepwise-queue-watch:${schema}`;

/**
 * The run queue's wake-up on PostgreSQL: one connection of its own (a pooled one cannot hold a LISTEN) on which
 * migration 8's NOTIFY arrives when a run is submitted or ends. A dropped connection (server restart, an operator's
 * pg_terminate_backend) is opened again with backoff, and `onChange` is called once it listens again, for what it may
 * have missed meanwhile.
 */
export function watchPostgresQueue(options: QueueWatchOptions, onChange: () => void): RunQueueWatch {
  const { Client } = createRequire(import.meta.url)('pg') as typeof pg;
  let closed = false;
  let client: pg.Client | undefined;
  let wakeSleep: (() => void) | undefined;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;

  const listenOnce = async (): Promise<void> => {
    const c = new Client({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs,
      application_name: queueWatchApplicationName(options.schema),
      // A peer that vanished without closing (a partitioned network) is noticed by TCP keepalive.
      keepAlive: true,
    });
    client = c;
    const lost = new Promise<void>((resolve) => {
      c.on('error', () => resolve());
      c.on('end', () => resolve());
    });
    c.on('notification', (message) => {
      if (message.channel === RUN_QUEUE_CHANNEL && message.payload === options.schema) onChange();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${RUN_QUEUE_CHANNEL}`);
    } catch {
      await c.end().catch(() => {});
      throw new Error('listen failed');
    }
    return lost;
  };

  const loop = async () => {
    let backoff = 100;
    let first = true;
    while (!closed) {
      try {
        const lost = await listenOnce();
        if (!first) onChange();
        first = false;
        backoff = 100;
        await lost;
      } catch {
        // Could not connect: the daemon's interval still dequeues meanwhile.
      }
      await client?.end().catch(() => {});
      client = undefined;
      if (closed) return;
      await new Promise<void>((resolve) => {
        wakeSleep = resolve;
        setTimeout(resolve, backoff).unref();
      });
      backoff = Math.min(backoff * 2, maxBackoffMs);
      // A lost connection may have swallowed a notification.
      first = false;
    }
  };
  const running = loop();

  return {
    async close() {
      closed = true;
      wakeSleep?.();
      await client?.end().catch(() => {});
      await running;
    },
  };
}
