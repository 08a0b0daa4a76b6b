import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import {
  EventWriter,
  type ExecutionPlan,
  MemoryRunStorage,
  makeEvent,
  NotFoundError,
  PostgresRunStorage,
  type RunRecord,
  type RunStorage,
  SqliteRunStorage,
  type StepwiseEvent,
  StorageError,
} from '../src/index.js';
import { POSTGRES_MIGRATIONS } from '../src/storage/postgres/migrations.js';
import { SQLITE_MIGRATIONS } from '../src/storage/sqlite/migrations.js';

const plan: ExecutionPlan = {
  version: 1,
  pipeline: 'p',
  fingerprint: 'f',
  steps: [],
  resources: {},
  selection: null,
  reuse: {},
};

function makeRun(runId: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    runId,
    pipeline: 'etl',
    status: 'QUEUED',
    runConfig: { ops: { a: { config: { n: 1 } } } },
    plan,
    tags: {},
    createdAt: Date.now(),
    updatedAt: Date.now(),
    ...overrides,
  };
}

function log(runId: string, msg: string, stepKey?: string): StepwiseEvent {
  return makeEvent('LOG', runId, { level: 'info', msg }, stepKey === undefined ? {} : { stepKey });
}

let counter = 0;
const uid = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

interface Backend {
  /** A new storage object on the shared test database. */
  open(): RunStorage;
  /** What a child process needs to open the same database. */
  childArgs: string[];
  /** A database nobody has initialised yet: child args, a storage object on it, and cleanup. */
  fresh(): { childArgs: string[]; storage: RunStorage; drop(): Promise<void> };
}

const tmpRoot = mkdtempSync(join(tmpdir(), 'stepwise-storage-test-'));
const schema = randomSchemaName('storage');
const opened: RunStorage[] = [];

const backends: Record<'sqlite' | 'postgres', () => Backend> = {
  sqlite: () => {
    const dir = join(tmpRoot, 'sqlite');
    return {
      open: () => track(new SqliteRunStorage({ dir })),
      childArgs: ['sqlite', dir],
      fresh: () => {
        const freshDir = join(tmpRoot, `fresh-${++counter}`);
        return {
          childArgs: ['sqlite', freshDir],
          storage: track(new SqliteRunStorage({ dir: freshDir })),
          drop: async () => {},
        };
      },
    };
  },
  postgres: () => {
    const url = inject('databaseUrl');
    return {
      open: () => track(new PostgresRunStorage({ url, schema })),
      childArgs: ['postgres', url, schema],
      fresh: () => {
        const freshSchema = randomSchemaName('storage_fresh');
        return {
          childArgs: ['postgres', url, freshSchema],
          storage: track(new PostgresRunStorage({ url, schema: freshSchema })),
          drop: () => dropSchema(url, freshSchema),
        };
      },
    };
  },
};

function track(storage: RunStorage): RunStorage {
  opened.push(storage);
  return storage;
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => {})));
  rmSync(tmpRoot, { recursive: true, force: true });
  await dropSchema(inject('databaseUrl'), schema);
});

/** Appends `batches` x `size` events to `runId` from a separate Node process. */
function appendFromChild(args: string[], runId: string, writer: string, batches: number, size: number): Promise<void> {
  const src = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  const script = join(tmpRoot, 'append-child.mts');
  writeFileSync(
    script,
    `import { SqliteRunStorage, PostgresRunStorage, makeEvent } from ${JSON.stringify(src)};
const [kind, a, b, runId, writer, batches, size] = process.argv.slice(2);
const storage = kind === 'sqlite' ? new SqliteRunStorage({ dir: a }) : new PostgresRunStorage({ url: a, schema: b });
await storage.init();
for (let i = 0; i < Number(batches); i++) {
  const events = [];
  for (let j = 0; j < Number(size); j++) events.push(makeEvent('LOG', runId, { level: 'info', msg: writer + ':' + i + ':' + j }));
  await storage.appendEvents(events);
}
await storage.close();
`,
  );
  const argv = ['--import', 'tsx', script, ...(args.length === 2 ? [...args, '-'] : args), runId, writer];
  argv.push(String(batches), String(size));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`append child exited with ${code}: ${stderr}`));
    });
  });
}

describe.each(['sqlite', 'postgres'] as const)('%s run storage', (kind) => {
  let backend: Backend;
  let storage: RunStorage;

  beforeAll(async () => {
    backend = backends[kind]();
    storage = backend.open();
    await storage.init();
  });

  it('init() is idempotent, also from a second storage object on the same database', async () => {
    await storage.init();
    const other = backend.open();
    await other.init();
    await other.init();
    const runId = uid('idem');
    await storage.createRun(makeRun(runId));
    expect((await other.getRun(runId))?.runId).toBe(runId);
  });

  it('creates, reads and updates runs', async () => {
    const runId = uid('crud');
    const run = makeRun(runId, { tags: { team: 'ml' }, parentRunId: 'parent-1', rootRunId: 'root-1', createdAt: 1000 });
    await storage.createRun(run);
    expect(await storage.getRun(runId)).toEqual(run);
    expect(await storage.getRun(uid('missing'))).toBeUndefined();

    await storage.updateRun(runId, { status: 'STARTED', startedAt: 2000 });
    await storage.updateRun(runId, { status: 'SUCCESS', endedAt: 3000, tags: { team: 'ops' } });
    const updated = await storage.getRun(runId);
    expect(updated).toMatchObject({ status: 'SUCCESS', startedAt: 2000, endedAt: 3000, tags: { team: 'ops' } });
    expect(updated?.updatedAt).toBeGreaterThanOrEqual(run.updatedAt);
    expect(updated?.runConfig).toEqual(run.runConfig);

    await expect(storage.updateRun(uid('missing'), { status: 'FAILURE' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.createRun(run)).rejects.toBeInstanceOf(StorageError);
  });

  it('lists runs newest first, filtered by status, pipeline and tags', async () => {
    const pipeline = uid('pipe');
    const base = 10_000;
    await storage.createRun(makeRun(uid('r'), { pipeline, createdAt: base + 1, tags: { team: 'ml', env: 'prod' } }));
    await storage.createRun(
      makeRun(uid('r'), { pipeline, createdAt: base + 2, status: 'FAILURE', tags: { team: 'ml' } }),
    );
    await storage.createRun(
      makeRun(uid('r'), { pipeline, createdAt: base + 3, status: 'SUCCESS', tags: { team: 'ops' } }),
    );
    await storage.createRun(makeRun(uid('r'), { pipeline: `${pipeline}-other`, createdAt: base + 4 }));

    const all = await storage.listRuns({ pipeline });
    expect(all.map((r) => r.createdAt)).toEqual([base + 3, base + 2, base + 1]);
    expect((await storage.listRuns({ pipeline, status: ['FAILURE', 'SUCCESS'] })).map((r) => r.createdAt)).toEqual([
      base + 3,
      base + 2,
    ]);
    expect((await storage.listRuns({ pipeline, tags: { team: 'ml' } })).map((r) => r.createdAt)).toEqual([
      base + 2,
      base + 1,
    ]);
    expect((await storage.listRuns({ pipeline, tags: { team: 'ml', env: 'prod' } })).map((r) => r.createdAt)).toEqual([
      base + 1,
    ]);
    expect(await storage.listRuns({ pipeline, tags: { team: 'nobody' } })).toEqual([]);
    expect(await storage.listRuns({ pipeline, limit: 1 })).toHaveLength(1);
    expect(await storage.listRuns({ pipeline, status: [] })).toEqual([]);
  });

  it('assigns per-run seqs 1..n in order across batches, with several runs per batch', async () => {
    const a = uid('ev-a');
    const b = uid('ev-b');
    await storage.appendEvents([log(a, 'a1'), log(b, 'b1'), log(a, 'a2')]);
    await storage.appendEvents([]);
    await storage.appendEvents([log(b, 'b2'), log(a, 'a3')]);
    await storage.appendEvents(Array.from({ length: 500 }, (_, i) => log(a, `bulk${i}`)));
    const eventsA = await storage.getEvents(a);
    expect(eventsA.map((e) => e.seq)).toEqual(Array.from({ length: 503 }, (_, i) => i + 1));
    expect(eventsA.slice(0, 4).map((e) => (e.type === 'LOG' ? e.data.msg : ''))).toEqual(['a1', 'a2', 'a3', 'bulk0']);
    const eventsB = await storage.getEvents(b);
    expect(eventsB.map((e) => [e.seq, e.type === 'LOG' && e.data.msg])).toEqual([
      [1, 'b1'],
      [2, 'b2'],
    ]);
    expect(eventsB[0]).toMatchObject({ runId: b, type: 'LOG', data: { level: 'info', msg: 'b1' } });
  });

  it('tails with afterSeq and limit, and filters by step key and type', async () => {
    const runId = uid('tail');
    await storage.appendEvents([
      makeEvent('RUN_START', runId, { stepCount: 2 }),
      makeEvent('STEP_START', runId, {}, { stepKey: 'a', attempt: 1 }),
      log(runId, 'hello', 'a'),
      makeEvent('STEP_START', runId, {}, { stepKey: 'b[0]', attempt: 1 }),
      makeEvent('STEP_SUCCESS', runId, { durationMs: 5 }, { stepKey: 'a', attempt: 1 }),
    ]);
    const page1 = await storage.getEvents(runId, { limit: 2 });
    expect(page1.map((e) => e.seq)).toEqual([1, 2]);
    const page2 = await storage.getEvents(runId, { afterSeq: page1.at(-1)?.seq, limit: 2 });
    expect(page2.map((e) => e.seq)).toEqual([3, 4]);
    expect(await storage.getEvents(runId, { afterSeq: 5 })).toEqual([]);
    expect((await storage.getEvents(runId, { stepKey: 'a' })).map((e) => e.type)).toEqual([
      'STEP_START',
      'LOG',
      'STEP_SUCCESS',
    ]);
    expect((await storage.getEvents(runId, { stepKey: 'b[0]' })).map((e) => e.seq)).toEqual([4]);
    expect((await storage.getEvents(runId, { types: ['STEP_START', 'RUN_START'] })).map((e) => e.seq)).toEqual([
      1, 2, 4,
    ]);
    expect((await storage.getEvents(runId, { types: ['STEP_START'], afterSeq: 2 })).map((e) => e.seq)).toEqual([4]);
    expect(await storage.getEvents(runId, { types: [] })).toEqual([]);
  });

  it('reads any window of a log appended in many batches: cursor, limit, step and type filters', async () => {
    const runId = uid('window');
    const all: StepwiseEvent[] = [];
    let n = 0;
    for (const size of [1, 7, 3, 12, 1, 5]) {
      const batch = Array.from({ length: size }, () => {
        n++;
        const stepKey = ['a', 'b', 'c'][n % 3] as string;
        return n % 4 === 0 ? makeEvent('STEP_START', runId, {}, { stepKey, attempt: 1 }) : log(runId, `m${n}`, stepKey);
      });
      all.push(...batch);
      await storage.appendEvents(batch);
    }
    const expected = all.map((e, i) => ({ ...e, seq: i + 1 }));
    const filters = [
      {},
      { stepKey: 'b' },
      { types: ['STEP_START' as const] },
      { stepKey: 'a', types: ['LOG' as const] },
    ];
    for (const filter of filters) {
      const matching = expected.filter(
        (e) =>
          (filter.stepKey === undefined || e.stepKey === filter.stepKey) &&
          (filter.types === undefined || filter.types.includes(e.type as 'LOG' & 'STEP_START')),
      );
      for (let afterSeq = 0; afterSeq <= all.length + 1; afterSeq += 1) {
        for (const limit of [undefined, 1, 2, 5, 13]) {
          const got = await storage.getEvents(runId, {
            ...filter,
            afterSeq,
            ...(limit === undefined ? {} : { limit }),
          });
          const want = matching.filter((e) => e.seq > afterSeq).slice(0, limit);
          expect(
            got.map((e) => e.seq),
            JSON.stringify({ filter, afterSeq, limit }),
          ).toEqual(want.map((e) => e.seq));
        }
      }
    }
    expect(await storage.getEvents(runId)).toEqual(expected);
  });

  it('two storage objects appending concurrently to one run get no duplicate or missing seqs', async () => {
    const runId = uid('conc');
    const other = backend.open();
    await other.init();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      writes.push(storage.appendEvents([log(runId, `x${i}-0`), log(runId, `x${i}-1`)]));
      writes.push(other.appendEvents([log(runId, `y${i}-0`), log(runId, `y${i}-1`), log(runId, `y${i}-2`)]));
    }
    await Promise.all(writes);
    const events = await storage.getEvents(runId);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // Each batch stays contiguous and in order.
    const msgs = events.map((e) => (e.type === 'LOG' ? e.data.msg : ''));
    for (let i = 0; i < 20; i++) {
      const at = msgs.indexOf(`y${i}-0`);
      expect(msgs.slice(at, at + 3)).toEqual([`y${i}-0`, `y${i}-1`, `y${i}-2`]);
    }
  });

  it('two writer processes on the same database interleave without duplicate or missing seqs', async () => {
    const runId = uid('procs');
    await Promise.all([
      appendFromChild(backend.childArgs, runId, 'p1', 30, 20),
      appendFromChild(backend.childArgs, runId, 'p2', 30, 20),
    ]);
    const events = await storage.getEvents(runId);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    const msgs = events.map((e) => (e.type === 'LOG' ? e.data.msg : ''));
    for (const writer of ['p1', 'p2']) {
      const own = msgs.filter((m) => m.startsWith(`${writer}:`));
      expect(own).toHaveLength(600);
      expect(own[0]).toBe(`${writer}:0:0`);
      expect(own.at(-1)).toBe(`${writer}:29:19`);
    }
  });

  it('two processes initialising a new database at once migrate it once and both append', async () => {
    const fresh = backend.fresh();
    try {
      const runId = uid('fresh');
      await Promise.all([
        appendFromChild(fresh.childArgs, runId, 'p1', 5, 10),
        appendFromChild(fresh.childArgs, runId, 'p2', 5, 10),
      ]);
      const events = await fresh.storage.getEvents(runId);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    } finally {
      await fresh.storage.close();
      await fresh.drop();
    }
  });

  it('EventWriter stores thousands of events in order, in batches', async () => {
    const runId = uid('writer');
    let batches = 0;
    const counting: RunStorage = Object.create(storage);
    counting.appendEvents = (events) => {
      batches++;
      return storage.appendEvents(events);
    };
    const writer = new EventWriter(counting, { maxBatch: 1000 });
    for (let i = 0; i < 5000; i++) writer.write(log(runId, `m${i}`));
    await writer.flush();
    expect(writer.pending).toBe(0);
    const events = await storage.getEvents(runId);
    expect(events).toHaveLength(5000);
    expect(events.map((e) => (e.type === 'LOG' ? e.data.msg : ''))).toEqual(
      Array.from({ length: 5000 }, (_, i) => `m${i}`),
    );
    expect(batches).toBeLessThanOrEqual(10);
  });
});

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
