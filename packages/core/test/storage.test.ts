import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStorageContract } from '@stepwise/testing';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import {
  EventWriter,
  MemoryRunStorage,
  makeEvent,
  PostgresRunStorage,
  type RunStorage,
  SqliteRunStorage,
  type StepwiseEvent,
  StorageError,
} from '../src/index.js';
import { POSTGRES_MIGRATIONS } from '../src/storage/postgres/migrations.js';
import { SQLITE_MIGRATIONS } from '../src/storage/sqlite/migrations.js';

function log(runId: string, msg: string, stepKey?: string): StepwiseEvent {
  return makeEvent('LOG', runId, { level: 'info', msg }, stepKey === undefined ? {} : { stepKey });
}

let counter = 0;
const uid = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

const tmpRoot = mkdtempSync(join(tmpdir(), 'stepwise-storage-test-'));
const opened: RunStorage[] = [];
/** Child processes import the storage classes from core's sources (under tsx). */
const CORE_SRC = fileURLToPath(new URL('../src/index.ts', import.meta.url));

function track(storage: RunStorage): RunStorage {
  opened.push(storage);
  return storage;
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => {})));
  rmSync(tmpRoot, { recursive: true, force: true });
});

const sqliteDir = join(tmpRoot, 'sqlite');
const sqlite = (dir: string) => ({ module: CORE_SRC, exportName: 'SqliteRunStorage', options: { dir } });
runStorageContract('SQLite', {
  open: () => new SqliteRunStorage({ dir: sqliteDir }),
  openAnother: () => new SqliteRunStorage({ dir: sqliteDir }),
  inChild: sqlite(sqliteDir),
  fresh: () => {
    const dir = join(tmpRoot, `fresh-${++counter}`);
    return { inChild: sqlite(dir), open: () => new SqliteRunStorage({ dir }), drop: async () => {} };
  },
});

const databaseUrl = inject('databaseUrl');
const schema = randomSchemaName('storage');
const postgres = (s: string) => ({
  module: CORE_SRC,
  exportName: 'PostgresRunStorage',
  options: { url: databaseUrl, schema: s },
});
runStorageContract('PostgreSQL', {
  open: () => new PostgresRunStorage({ url: databaseUrl, schema }),
  openAnother: () => new PostgresRunStorage({ url: databaseUrl, schema }),
  inChild: postgres(schema),
  fresh: () => {
    const s = randomSchemaName('storage_fresh');
    return {
      inChild: postgres(s),
      open: () => new PostgresRunStorage({ url: databaseUrl, schema: s }),
      drop: () => dropSchema(databaseUrl, s),
    };
  },
  teardown: () => dropSchema(databaseUrl, schema),
});

runStorageContract('memory', { open: () => new MemoryRunStorage() });

describe('schema migrations', () => {
  // Databases made before event chunks (schema version 1) kept one row per event; version 2 moves them.
  /** Opens a storage whose version-1 log of `runId` holds v1Events, appends one event, and reads both back. */
  const expectMigratedLog = async (storage: RunStorage, runId: string) => {
    await storage.init();
    await storage.appendEvents([log(runId, 'after')]);
    const events = await storage.getEvents(runId);
    expect(events.map((e) => [e.seq, e.type, e.type === 'LOG' ? e.data.msg : null])).toEqual([
      [1, 'RUN_START', null],
      [2, 'STEP_START', null],
      [3, 'LOG', 'with \u0000 and "quotes"'],
      [4, 'LOG', 'after'],
    ]);
    expect((await storage.getEvents(runId, { afterSeq: 2 })).map((e) => e.seq)).toEqual([3, 4]);
  };
  const v1Events = (runId: string) => [
    makeEvent('RUN_START', runId, { stepCount: 1 }),
    makeEvent('STEP_START', runId, {}, { stepKey: 'a', attempt: 1 }),
    log(runId, 'with \u0000 and "quotes"', 'a'),
  ];

  it('SQLite: a version-1 database keeps its events and appends after them', async () => {
    const dir = join(tmpRoot, `v1-${++counter}`);
    mkdirSync(dir, { recursive: true });
    const db = new Database(join(dir, 'stepwise.db'));
    db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    db.exec((SQLITE_MIGRATIONS[0] as { sql: string }).sql);
    db.prepare('INSERT INTO schema_version VALUES (1, 0)').run();
    const runId = uid('v1');
    const insert = db.prepare(
      'INSERT INTO events (run_id, seq, type, step_key, timestamp, body) VALUES (?, ?, ?, ?, ?, ?)',
    );
    v1Events(runId).forEach((e, i) => {
      insert.run(runId, i + 1, e.type, e.stepKey ?? null, e.timestamp, JSON.stringify(e));
    });
    db.close();
    const storage = track(new SqliteRunStorage({ dir }));
    await expectMigratedLog(storage, runId);
  });

  it('PostgreSQL: a version-1 schema keeps its events and appends after them', async () => {
    const url = inject('databaseUrl');
    const v1 = randomSchemaName('storage_v1');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const runId = uid('v1');
    try {
      await client.query(`CREATE SCHEMA "${v1}"`);
      await client.query(
        `CREATE TABLE "${v1}".schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
      );
      await client.query((POSTGRES_MIGRATIONS[0] as { sql: (s: string) => string }).sql(`"${v1}"`));
      await client.query(`INSERT INTO "${v1}".schema_version VALUES (1, 0)`);
      for (const [i, e] of v1Events(runId).entries()) {
        await client.query(`INSERT INTO "${v1}".events VALUES ($1, $2, $3, $4, $5, $6)`, [
          runId,
          i + 1,
          e.type,
          e.stepKey ?? null,
          e.timestamp,
          JSON.stringify(e),
        ]);
      }
    } finally {
      await client.end();
    }
    const storage = track(new PostgresRunStorage({ url, schema: v1 }));
    try {
      await expectMigratedLog(storage, runId);
    } finally {
      await storage.close();
      await dropSchema(url, v1);
    }
  });
});

describe('storage errors', () => {
  it('an unreachable PostgreSQL gives a StorageError naming host:port, quickly', async () => {
    const storage = new PostgresRunStorage({ url: 'postgres://postgres@127.0.0.1:5999/test' });
    const started = Date.now();
    const error = await storage.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    await storage.close();
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/could not connect to PostgreSQL at 127\.0\.0\.1:5999: .*ECONNREFUSED/);
    expect((error as Error).message).toContain('storage.postgres.url');
    expect((error as Error).message).not.toContain('\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a malformed PostgreSQL URL gives a StorageError', () => {
    expect(() => new PostgresRunStorage({ url: 'mysql://host/db' })).toThrow(StorageError);
    expect(() => new PostgresRunStorage({ url: 'not a url' })).toThrow(/invalid PostgreSQL URL/);
  });

  it('an unusable SQLite directory gives a StorageError naming the directory', async () => {
    // A path below a regular file cannot be created, even by root (which ignores permission bits).
    const file = join(tmpRoot, 'not-a-dir');
    writeFileSync(file, 'x');
    const dir = join(file, 'storage');
    const storage = new SqliteRunStorage({ dir });
    await expect(storage.init()).rejects.toThrow(StorageError);
    await expect(storage.init()).rejects.toThrow(dir);
    await storage.close();
  });

  it('a read-only SQLite directory gives a StorageError naming the directory', async () => {
    const dir = mkdtempSync(join(tmpRoot, 'ro-'));
    const storage = new SqliteRunStorage({ dir });
    if (process.getuid?.() === 0) {
      // Root ignores permission bits; sysfs refuses new directories even to root.
      // (Not procfs: Node's recursive mkdir loops forever there.)
      const ro = new SqliteRunStorage({ dir: '/sys/stepwise-storage' });
      await expect(ro.init()).rejects.toThrow(/cannot use SQLite storage directory \/sys\/stepwise-storage/);
      await ro.close();
      return;
    }
    const { chmodSync } = await import('node:fs');
    chmodSync(dir, 0o500);
    try {
      await expect(storage.init()).rejects.toThrow(new RegExp(`${dir}.*writable`));
    } finally {
      chmodSync(dir, 0o700);
      await storage.close();
    }
  });
});

describe('EventWriter', () => {
  /** Memory storage whose next `failures` appends fail, recording how many appends overlap. */
  function flaky(failures: number) {
    const inner = new MemoryRunStorage();
    const stats = { calls: 0, inFlight: 0, maxInFlight: 0, failures };
    const storage: RunStorage = Object.assign(Object.create(inner) as RunStorage, {
      async appendEvents(events: readonly StepwiseEvent[]) {
        stats.calls++;
        stats.inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
        try {
          await new Promise((r) => setTimeout(r, 2));
          if (stats.failures > 0) {
            stats.failures--;
            throw new StorageError('disk full');
          }
          await inner.appendEvents(events);
        } finally {
          stats.inFlight--;
        }
      },
    });
    return { storage, inner, stats };
  }

  it('surfaces a failed write from flush, then retries in order on the next flush', async () => {
    const { storage, inner, stats } = flaky(1);
    const errors: unknown[] = [];
    const writer = new EventWriter(storage, { maxBatch: 2, onError: (e) => errors.push(e) });
    for (const m of ['a', 'b', 'c']) writer.write(log('r', m));
    await expect(writer.flush()).rejects.toThrow('disk full');
    expect(writer.pending).toBe(3);
    for (const m of ['d', 'e']) writer.write(log('r', m));
    await writer.flush();
    expect(writer.pending).toBe(0);
    const events = await inner.getEvents('r');
    expect(events.map((e) => [e.seq, e.type === 'LOG' && e.data.msg])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
      [5, 'e'],
    ]);
    expect(stats.maxInFlight).toBe(1);
    expect(errors.length).toBeLessThanOrEqual(1);
  });

  it('reports background failures through onError and keeps the events for the next flush', async () => {
    const { storage, inner } = flaky(1);
    const errors: unknown[] = [];
    const writer = new EventWriter(storage, { onError: (e) => errors.push(e), retryDelayMs: 60_000 });
    writer.write(log('r2', 'x'));
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 2_000 });
    writer.write(log('r2', 'y'));
    await new Promise((r) => setTimeout(r, 20));
    // Paused after the failure: nothing stored until flush retries.
    expect(await inner.getEvents('r2')).toEqual([]);
    await writer.flush();
    expect((await inner.getEvents('r2')).map((e) => e.type === 'LOG' && e.data.msg)).toEqual(['x', 'y']);
  });

  it('retries a failed background write on its own after retryDelayMs', async () => {
    const { storage, inner, stats } = flaky(2);
    const errors: unknown[] = [];
    const writer = new EventWriter(storage, { onError: (e) => errors.push(e), retryDelayMs: 20 });
    writer.write(log('r4', 'x'));
    writer.write(log('r4', 'y'));
    await vi.waitFor(async () => expect(await inner.getEvents('r4')).toHaveLength(2), { timeout: 3_000 });
    expect(errors).toHaveLength(2);
    expect(stats.calls).toBe(3);
    expect((await inner.getEvents('r4')).map((e) => e.type === 'LOG' && e.data.msg)).toEqual(['x', 'y']);
    await writer.flush();
  });

  it('keeps one transaction in flight and writes without waiting for flush', async () => {
    const { storage, inner, stats } = flaky(0);
    const writer = new EventWriter(storage, { maxBatch: 100 });
    for (let i = 0; i < 1000; i++) writer.write(log('r3', `m${i}`));
    await vi.waitFor(async () => expect(await inner.getEvents('r3')).toHaveLength(1000), { timeout: 5_000 });
    expect(stats.maxInFlight).toBe(1);
    expect(stats.calls).toBe(10);
    await writer.flush();
  });
});
