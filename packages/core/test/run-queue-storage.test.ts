import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRunRecord } from '@stepwise/testing';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import {
  type DequeueChooser,
  MemoryRunStorage,
  PostgresRunStorage,
  type RunRecord,
  type RunStorage,
  SqliteRunStorage,
} from '../src/index.js';

function queuedRun(runId: string, tags: Record<string, string> = {}): RunRecord {
  return testRunRecord(runId, { pipeline: 'p', runConfig: {}, tags });
}

const tmpRoot = mkdtempSync(join(tmpdir(), 'stepwise-run-queue-storage-'));
const schemas: string[] = [];
const opened: RunStorage[] = [];
let counter = 0;

/** Two storage objects on one new database (two connections), for each backend. */
const backends: Record<string, () => [RunStorage, RunStorage]> = {
  memory: () => {
    const s = new MemoryRunStorage();
    return [s, s];
  },
  sqlite: () => {
    const dir = join(tmpRoot, `db-${++counter}`);
    return [new SqliteRunStorage({ dir }), new SqliteRunStorage({ dir })];
  },
  postgres: () => {
    const schema = randomSchemaName('runqueue');
    schemas.push(schema);
    const url = inject('databaseUrl');
    return [new PostgresRunStorage({ url, schema }), new PostgresRunStorage({ url, schema })];
  },
};

async function open(kind: string): Promise<[RunStorage, RunStorage]> {
  const pair = (backends[kind] as () => [RunStorage, RunStorage])();
  opened.push(...pair);
  await pair[0].init();
  await pair[1].init();
  return pair;
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => {})));
  rmSync(tmpRoot, { recursive: true, force: true });
  for (const schema of schemas) await dropSchema(inject('databaseUrl'), schema);
});

/** Takes queued runs in order while fewer than `limit` are in progress. */
const upTo =
  (limit: number): DequeueChooser =>
  (queued, inProgress) =>
    queued.slice(0, Math.max(0, limit - inProgress.length)).map((r) => r.runId);

describe.each(['memory', 'sqlite', 'postgres'])('%s: run queue storage', (kind) => {
  it('transitionRun applies only when status, updatedAt and claim owner match', async () => {
    const [storage] = await open(kind);
    await storage.createRun(queuedRun('r1'));
    expect(await storage.transitionRun('r1', { status: ['STARTED'] }, { status: 'FAILURE' })).toBe(false);
    expect(await storage.transitionRun('missing', {}, { status: 'FAILURE' })).toBe(false);
    const claim = { owner: 'daemon-a', at: 1234 };
    expect(await storage.transitionRun('r1', { status: ['QUEUED'] }, { status: 'STARTING', claim })).toBe(true);
    const run = (await storage.getRun('r1')) as RunRecord;
    expect(run.status).toBe('STARTING');
    expect(run.claim).toEqual(claim);
    expect(await storage.transitionRun('r1', { claimOwner: 'daemon-b' }, { status: 'STARTED' })).toBe(false);
    expect(await storage.transitionRun('r1', { updatedAt: run.updatedAt - 1 }, { status: 'STARTED' })).toBe(false);
    expect(
      await storage.transitionRun(
        'r1',
        { claimOwner: 'daemon-a', updatedAt: run.updatedAt, status: ['STARTING'] },
        { status: 'STARTED', resumeAttempts: 2 },
      ),
    ).toBe(true);
    const after = (await storage.getRun('r1')) as RunRecord;
    expect([after.status, after.resumeAttempts, after.claim?.owner]).toEqual(['STARTED', 2, 'daemon-a']);
  });

  it('dequeueRuns shows the policy queued runs in submission order and in-progress runs, and claims its picks', async () => {
    const [storage] = await open(kind);
    for (let i = 0; i < 5; i++) await storage.createRun(queuedRun(`q${i}`, { n: String(i) }));
    let seen: string[][] = [];
    const claimed = await storage.dequeueRuns(
      (queued, inProgress) => {
        seen = [queued.map((r) => r.runId), inProgress.map((r) => r.runId)];
        return ['q3', 'q1'];
      },
      { owner: 'd1', at: 5 },
    );
    expect(seen).toEqual([['q0', 'q1', 'q2', 'q3', 'q4'], []]);
    const records = await Promise.all(claimed.map((id) => storage.getRun(id)));
    expect(records.map((r) => [r?.runId, r?.status, r?.claim?.owner, r?.tags.n])).toEqual([
      ['q3', 'STARTING', 'd1', '3'],
      ['q1', 'STARTING', 'd1', '1'],
    ]);
    await storage.dequeueRuns(
      (queued, inProgress) => {
        seen = [queued.map((r) => r.runId), inProgress.map((r) => r.runId)];
        return [];
      },
      { owner: 'd1', at: 6 },
    );
    expect(seen).toEqual([
      ['q0', 'q2', 'q4'],
      ['q1', 'q3'],
    ]);
  });

  it('concurrent dequeues on two connections never exceed the limit nor pick a run twice', async () => {
    const [a, b] = await open(kind);
    for (let i = 0; i < 30; i++) await a.createRun(queuedRun(`c${i}`));
    const picked: string[] = [];
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all([
        a.dequeueRuns(upTo(7), { owner: 'a', at: round }),
        b.dequeueRuns(upTo(7), { owner: 'b', at: round }),
        a.dequeueRuns(upTo(7), { owner: 'a2', at: round }),
      ]);
      picked.push(...results.flat());
      // Every pick stays in progress: the limit is reached in the first round and holds.
      expect(picked).toHaveLength(7);
    }
    expect(new Set(picked).size).toBe(7);
    for (const id of picked.slice(0, 3)) await a.updateRun(id, { status: 'SUCCESS', endedAt: Date.now() });
    const more = await b.dequeueRuns(upTo(7), { owner: 'b', at: 9 });
    expect(more).toEqual(['c7', 'c8', 'c9']);
  });

  it('records, lists and removes daemon heartbeats', async () => {
    const [storage, other] = await open(kind);
    const hb = {
      daemonId: 'd1',
      host: 'h',
      pid: 42,
      startedAt: 10,
      updatedAt: 11,
      loops: { runQueue: { intervalMs: 1000, lastIterationAt: 11, lastDurationMs: 2 } },
    };
    await storage.putDaemonHeartbeat(hb);
    await storage.putDaemonHeartbeat({
      ...hb,
      updatedAt: 20,
      loops: { runQueue: { intervalMs: 1000, lastError: 'x' } },
    });
    await other.putDaemonHeartbeat({ ...hb, daemonId: 'd2', startedAt: 12 });
    const listed = await other.listDaemonHeartbeats();
    expect(listed.map((d) => [d.daemonId, d.updatedAt])).toEqual([
      ['d1', 20],
      ['d2', 11],
    ]);
    expect(listed[0]?.loops).toEqual({ runQueue: { intervalMs: 1000, lastError: 'x' } });
    await storage.deleteDaemonHeartbeat('d1');
    expect((await other.listDaemonHeartbeats()).map((d) => d.daemonId)).toEqual(['d2']);
  });
});
