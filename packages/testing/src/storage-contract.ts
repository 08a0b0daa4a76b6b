/**
 * The run-storage contract: what every RunStorage must do, as vitest tests registered against a backend. Core runs
 * it on SQLite, PostgreSQL and memory; a new backend runs it by calling {@link runStorageContract} in a test file.
 */
import {
  EventWriter,
  makeEvent,
  NotFoundError,
  type RunStorage,
  type StepwiseEvent,
  StorageError,
} from '@stepwise/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseContract } from './lease-contract.js';
import { runQueueContract } from './run-queue-contract.js';
import { scheduleContract } from './schedule-contract.js';
import { appendFromChild, type StorageInChild } from './storage-child-writer.js';
import { testLogEvent, testRunRecord, uniqueId } from './test-records.js';

export interface StorageBackend {
  /** The suite's storage object (opened once, closed after the suite). */
  open(): RunStorage | Promise<RunStorage>;
  /**
   * Another storage object on the same database as `open()`'s (absent for a backend with no shared database, such
   * as memory): the tests of two writers and of init from two objects run only when it is given.
   */
  openAnother?(): RunStorage | Promise<RunStorage>;
  /** The same database from another process (the tests of concurrent writer processes run only when given). */
  inChild?: StorageInChild;
  /** A database nobody has initialised yet, from another process; `drop` removes it after the test. */
  fresh?(): { inChild: StorageInChild; open(): RunStorage; drop(): Promise<void> };
  /** Removes the suite's database after its tests. */
  teardown?(): Promise<void>;
  /** False for a backend that keeps no schedules (`RunStorage.schedules` absent): the scheduler's tests do not apply. */
  schedules?: boolean;
  /** False for a backend without `RunStorage.watchRunQueue` (its daemons poll): the wake-up test does not apply. */
  runQueueWake?: boolean;
}

const makeRun = testRunRecord;
const log = testLogEvent;
const uid = uniqueId;

/** Registers the run-storage contract's tests for `backend` under `describe(name)`. */
export function runStorageContract(name: string, backend: StorageBackend): void {
  describe(`${name} run storage (contract)`, () => {
    let storage: RunStorage;
    /** Storage objects a test leaves to the suite to close. */
    const opened: RunStorage[] = [];
    const track = async (pending: RunStorage | Promise<RunStorage>) => {
      const s = await pending;
      opened.push(s);
      return s;
    };

    beforeAll(async () => {
      storage = await track(backend.open());
      await storage.init();
    });

    afterAll(async () => {
      await Promise.all(opened.map((s) => s.close().catch(() => {})));
      await backend.teardown?.();
    });

    it('init() is idempotent', async () => {
      await storage.init();
      const runId = uid('idem');
      await storage.createRun(makeRun(runId));
      await storage.init();
      expect((await storage.getRun(runId))?.runId).toBe(runId);
    });

    it('creates, reads and updates runs', async () => {
      const runId = uid('crud');
      const run = makeRun(runId, {
        tags: { team: 'ml' },
        parentRunId: 'parent-1',
        rootRunId: 'root-1',
        createdAt: 1000,
      });
      await storage.createRun(run);
      expect(await storage.getRun(runId)).toEqual(run);
      expect(await storage.getRun(uid('missing'))).toBeUndefined();
      expect(await storage.getRunStatus(runId)).toEqual({ status: 'QUEUED', updatedAt: run.updatedAt });
      expect(await storage.getRunStatus(uid('missing'))).toBeUndefined();

      await storage.updateRun(runId, { status: 'STARTED', startedAt: 2000 });
      await storage.updateRun(runId, { status: 'SUCCESS', endedAt: 3000, tags: { team: 'ops' } });
      const updated = await storage.getRun(runId);
      expect(updated).toMatchObject({ status: 'SUCCESS', startedAt: 2000, endedAt: 3000, tags: { team: 'ops' } });
      expect(updated?.updatedAt).toBeGreaterThanOrEqual(run.updatedAt);
      expect(updated?.runConfig).toEqual(run.runConfig);
      expect((await storage.getRunStatus(runId))?.status).toBe('SUCCESS');

      await expect(storage.updateRun(uid('missing'), { status: 'FAILURE' })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('createRunIfAbsent creates a run once and then answers the stored one', async () => {
      const runId = uid('absent1');
      const first = await storage.createRunIfAbsent(makeRun(runId, { tags: { n: '1' } }));
      const second = await storage.createRunIfAbsent(makeRun(runId, { tags: { n: '2' } }));
      expect(first).toMatchObject({ created: true, run: { runId, tags: { n: '1' } } });
      expect(second).toMatchObject({ created: false, run: { runId, tags: { n: '1' } } });
    });

    it('refuses to create a run twice and keeps the first one and its events', async () => {
      const runId = uid('twice');
      const run = makeRun(runId, { tags: { first: 'yes' } });
      await storage.createRun(run);
      await storage.appendEvents([log(runId, 'kept')]);
      await expect(storage.createRun(makeRun(runId))).rejects.toBeInstanceOf(StorageError);
      expect(await storage.getRun(runId)).toEqual(run);
      expect(await storage.getEvents(runId)).toHaveLength(1);
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
      expect((await storage.listRuns({ pipeline, tags: { team: 'ml', env: 'prod' } })).map((r) => r.createdAt)).toEqual(
        [base + 1],
      );
      expect(await storage.listRuns({ pipeline, tags: { team: 'nobody' } })).toEqual([]);
      expect(await storage.listRuns({ pipeline, limit: 1 })).toHaveLength(1);
      expect(await storage.listRuns({ pipeline, status: [] })).toEqual([]);
    });

    it('lists only the runs updated since a cursor, an update moving a run past it', async () => {
      const pipeline = uid('pipe');
      const base = 20_000;
      const ids = [uid('r'), uid('r'), uid('r')];
      for (const [i, runId] of ids.entries()) {
        await storage.createRun(makeRun(runId, { pipeline, createdAt: base + i, updatedAt: base + 10 * (i + 1) }));
      }
      const since = async (updatedSince: number) =>
        (await storage.listRuns({ pipeline, updatedSince })).map((r) => r.runId);
      expect(await since(base)).toEqual([ids[2], ids[1], ids[0]]);
      // Inclusive: a run updated in the cursor's millisecond is listed.
      expect(await since(base + 20)).toEqual([ids[2], ids[1]]);
      expect(await since(base + 31)).toEqual([]);
      await storage.updateRun(ids[0] as string, { status: 'SUCCESS' });
      const updated = await storage.getRun(ids[0] as string);
      expect(updated?.updatedAt).toBeGreaterThan(base + 30);
      expect(await since(base + 31)).toEqual([ids[0]]);
      expect(await storage.listRuns({ pipeline, updatedSince: base + 31, status: ['QUEUED'] })).toEqual([]);
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
          return n % 4 === 0
            ? makeEvent('STEP_START', runId, {}, { stepKey, attempt: 1 })
            : log(runId, `m${n}`, stepKey);
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

    const { openAnother, inChild, fresh } = backend;
    leaseContract({
      storage: () => storage,
      makeRun,
      uid,
      ...(openAnother ? { openAnother: async () => track(openAnother()) } : {}),
    });
    runQueueContract({
      storage: () => storage,
      makeRun,
      uid,
      wake: backend.runQueueWake !== false,
      ...(openAnother ? { openAnother: async () => track(openAnother()) } : {}),
    });
    if (backend.schedules !== false) {
      scheduleContract({
        storage: () => storage,
        uid,
        ...(openAnother ? { openAnother: async () => track(openAnother()) } : {}),
      });
    }
    if (openAnother) {
      it('init() from a second storage object on the same database sees the same runs', async () => {
        const other = await openAnother();
        try {
          await other.init();
          await other.init();
          const runId = uid('idem2');
          await storage.createRun(makeRun(runId));
          expect((await other.getRun(runId))?.runId).toBe(runId);
        } finally {
          await other.close();
        }
      });

      it('createRunIfAbsent: of storage objects racing with one id, one creates the run, the others get it', async () => {
        const runId = uid('absent');
        const others = await Promise.all([track(openAnother()), track(openAnother()), track(openAnother())]);
        await Promise.all(others.map((o) => o.init()));
        const results = await Promise.all(
          [storage, ...others].map((s, i) => s.createRunIfAbsent(makeRun(runId, { tags: { writer: `w${i}` } }))),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const winner = results.find((r) => r.created)?.run.tags.writer;
        for (const r of results) expect(r.run.tags.writer).toBe(winner);
        expect((await storage.getRun(runId))?.tags.writer).toBe(winner);
      });

      it('two storage objects appending concurrently to one run get no duplicate or missing seqs', async () => {
        const runId = uid('conc');
        const other = await openAnother();
        try {
          await other.init();
          const writes: Promise<void>[] = [];
          for (let i = 0; i < 20; i++) {
            writes.push(storage.appendEvents([log(runId, `x${i}-0`), log(runId, `x${i}-1`)]));
            writes.push(other.appendEvents([log(runId, `y${i}-0`), log(runId, `y${i}-1`), log(runId, `y${i}-2`)]));
          }
          await Promise.all(writes);
        } finally {
          await other.close();
        }
        const events = await storage.getEvents(runId);
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
        // Each batch stays contiguous and in order.
        const msgs = events.map((e) => (e.type === 'LOG' ? e.data.msg : ''));
        for (let i = 0; i < 20; i++) {
          const at = msgs.indexOf(`y${i}-0`);
          expect(msgs.slice(at, at + 3)).toEqual([`y${i}-0`, `y${i}-1`, `y${i}-2`]);
        }
      });
    }

    if (inChild) {
      it('two writer processes on the same database interleave without duplicate or missing seqs', async () => {
        const runId = uid('procs');
        await Promise.all([
          appendFromChild(inChild, runId, 'p1', 30, 20),
          appendFromChild(inChild, runId, 'p2', 30, 20),
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
    }

    if (fresh) {
      it('two processes initialising a new database at once migrate it once and both append', async () => {
        const db = fresh();
        const reader = db.open();
        try {
          const runId = uid('fresh');
          await Promise.all([
            appendFromChild(db.inChild, runId, 'p1', 5, 10),
            appendFromChild(db.inChild, runId, 'p2', 5, 10),
          ]);
          const events = await reader.getEvents(runId);
          expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
        } finally {
          await reader.close();
          await db.drop();
        }
      });
    }
  });
}
