/**
 * The daemon's part of the run-storage contract (see storage-contract.ts): the conditional transitions its monitor
 * claims decisions with, the run queue's atomic dequeue, daemon heartbeats, and (when the backend has it) the run
 * queue's wake-up; on one storage object and, when the backend has a shared database, across two. The suite's
 * database is shared with the other tests, so every policy here looks only at its own test's runs.
 */
import type { DequeueChooser, QueueRunView, RunRecord, RunStorage } from '@stepwise/core';
import { expect, it } from 'vitest';
import { waitUntil } from './wait.js';

export interface RunQueueContractContext {
  storage(): RunStorage;
  /** Another storage object on the same database, when the backend has one. */
  openAnother?: () => Promise<RunStorage>;
  makeRun(runId: string, overrides?: Partial<RunRecord>): RunRecord;
  uid(prefix: string): string;
  /** False for a backend without `watchRunQueue` (its daemons poll): the wake-up test does not apply. */
  wake: boolean;
}

/** A policy over the runs whose id starts with `prefix`: the first queued ones while fewer than `limit` are in progress. */
function upTo(prefix: string, limit: number): DequeueChooser {
  const mine = (runs: readonly QueueRunView[]) => runs.filter((r) => r.runId.startsWith(prefix));
  return (queued, inProgress) =>
    mine(queued)
      .slice(0, Math.max(0, limit - mine(inProgress).length))
      .map((r) => r.runId);
}

/** Registers the run-queue tests in the current describe block. */
export function runQueueContract(ctx: RunQueueContractContext): void {
  /** Two handles on the storage: two objects on one database when the backend has one (as two daemons would). */
  const pair = async (): Promise<[RunStorage, RunStorage]> => {
    const a = ctx.storage();
    const b = ctx.openAnother ? await ctx.openAnother() : a;
    await b.init();
    return [a, b];
  };

  it('run queue: transitionRun applies only when status, updatedAt and claim owner all match', async () => {
    const storage = ctx.storage();
    const id = ctx.uid('transition');
    await storage.createRun(ctx.makeRun(id));
    expect(await storage.transitionRun(id, { status: ['STARTED'] }, { status: 'FAILURE' })).toBe(false);
    expect(await storage.transitionRun(ctx.uid('missing'), {}, { status: 'FAILURE' })).toBe(false);
    expect(await storage.transitionRun(id, { status: [] }, { status: 'FAILURE' })).toBe(false);
    const claim = { owner: 'daemon-a', at: 1234 };
    expect(await storage.transitionRun(id, { status: ['QUEUED'] }, { status: 'STARTING', claim })).toBe(true);
    const run = (await storage.getRun(id)) as RunRecord;
    expect([run.status, run.claim]).toEqual(['STARTING', claim]);
    expect(await storage.transitionRun(id, { claimOwner: 'daemon-b' }, { status: 'STARTED' })).toBe(false);
    expect(await storage.transitionRun(id, { updatedAt: run.updatedAt - 1 }, { status: 'STARTED' })).toBe(false);
    expect(
      await storage.transitionRun(
        id,
        { claimOwner: 'daemon-a', updatedAt: run.updatedAt, status: ['STARTING'] },
        { status: 'STARTED', resumeAttempts: 2 },
      ),
    ).toBe(true);
    const after = (await storage.getRun(id)) as RunRecord;
    expect([after.status, after.resumeAttempts, after.claim?.owner]).toEqual(['STARTED', 2, 'daemon-a']);
    expect(after.updatedAt).toBeGreaterThanOrEqual(run.updatedAt);
  });

  it('run queue: of monitors racing to claim one decision on the updatedAt they read, exactly one wins', async () => {
    const [a, b] = await pair();
    const id = ctx.uid('claim');
    await a.createRun(ctx.makeRun(id, { status: 'STARTED' }));
    const read = (await a.getRun(id)) as RunRecord;
    const claims = await Promise.all(
      [a, b, a, b].map((s, i) =>
        s.transitionRun(
          id,
          { status: ['STARTED'], updatedAt: read.updatedAt },
          { resumeAttempts: 1, claim: { owner: `monitor-${i}`, at: read.updatedAt + 1 } },
        ),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = `monitor-${claims.indexOf(true)}`;
    expect((await b.getRun(id))?.claim?.owner).toBe(winner);
  });

  it('run queue: dequeueRuns shows the policy queued runs in submission order and those in progress, and claims its picks', async () => {
    const storage = ctx.storage();
    const prefix = ctx.uid('dq');
    const ids = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
    for (const [i, id] of ids.entries()) await storage.createRun(ctx.makeRun(id, { tags: { n: String(i) } }));
    const mine = (runs: readonly QueueRunView[]) => runs.filter((r) => r.runId.startsWith(prefix));
    let seen: Array<Array<[string, string, string | undefined]>> = [];
    const see: DequeueChooser = (queued, inProgress) => {
      seen = [queued, inProgress].map((runs) => mine(runs).map((r) => [r.runId, r.status, r.tags.n]));
      return [];
    };
    const claimed = await storage.dequeueRuns(
      (queued, inProgress) => {
        see(queued, inProgress);
        return [ids[3] as string, ids[1] as string];
      },
      { owner: 'd1', at: 5 },
    );
    expect(seen).toEqual([ids.map((id, i) => [id, 'QUEUED', String(i)]), []]);
    // In the policy's order.
    expect(claimed).toEqual([ids[3], ids[1]]);
    const records = await Promise.all(claimed.map((id) => storage.getRun(id)));
    expect(records.map((r) => [r?.status, r?.claim])).toEqual([
      ['STARTING', { owner: 'd1', at: 5 }],
      ['STARTING', { owner: 'd1', at: 5 }],
    ]);
    await storage.dequeueRuns(see, { owner: 'd1', at: 6 });
    expect(seen).toEqual([
      [0, 2, 4].map((i) => [ids[i], 'QUEUED', String(i)]),
      [1, 3].map((i) => [ids[i], 'STARTING', String(i)]),
    ]);
    // A run that is not QUEUED any more is not claimed, whatever the policy says; nothing picked, nothing changed.
    expect(await storage.dequeueRuns(() => [ids[1] as string], { owner: 'd2', at: 7 })).toEqual([]);
    expect((await storage.getRun(ids[1] as string))?.claim?.owner).toBe('d1');
  });

  it('run queue: concurrent dequeues never exceed the limit nor claim a run twice; an end frees a slot', async () => {
    const [a, b] = await pair();
    const prefix = ctx.uid('cdq');
    for (let i = 0; i < 30; i++) await a.createRun(ctx.makeRun(`${prefix}-${String(i).padStart(2, '0')}`));
    const policy = upTo(prefix, 7);
    const picked: string[] = [];
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all([
        a.dequeueRuns(policy, { owner: 'a', at: round }),
        b.dequeueRuns(policy, { owner: 'b', at: round }),
        a.dequeueRuns(policy, { owner: 'a2', at: round }),
      ]);
      picked.push(...results.flat());
      // Each pick stays in progress: the limit is reached in the first round and holds.
      expect(picked).toHaveLength(7);
    }
    expect(new Set(picked).size).toBe(7);
    for (const id of picked.slice(0, 3)) await a.updateRun(id, { status: 'SUCCESS', endedAt: Date.now() });
    const more = await b.dequeueRuns(policy, { owner: 'b', at: 9 });
    expect(more).toEqual(['07', '08', '09'].map((n) => `${prefix}-${n}`));
  });

  it('daemon heartbeats: recorded, replaced, listed from another handle, removed', async () => {
    const [storage, other] = await pair();
    const d1 = ctx.uid('daemon');
    const d2 = ctx.uid('daemon');
    const hb = {
      daemonId: d1,
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
    await other.putDaemonHeartbeat({ ...hb, daemonId: d2, startedAt: 12 });
    const mine = async (s: RunStorage) => (await s.listDaemonHeartbeats()).filter((d) => [d1, d2].includes(d.daemonId));
    const listed = await mine(other);
    expect(listed.map((d) => [d.daemonId, d.host, d.pid, d.startedAt, d.updatedAt])).toEqual([
      [d1, 'h', 42, 10, 20],
      [d2, 'h', 42, 12, 11],
    ]);
    expect(listed[0]?.loops).toEqual({ runQueue: { intervalMs: 1000, lastError: 'x' } });
    await storage.deleteDaemonHeartbeat(d1);
    await storage.deleteDaemonHeartbeat(ctx.uid('never-there'));
    expect((await mine(other)).map((d) => d.daemonId)).toEqual([d2]);
  });

  if (!ctx.wake) return;
  it('run queue wake-up: a submission and a run end, from another handle, call the watcher; a close stops it', async () => {
    const [storage, other] = await pair();
    if (!storage.watchRunQueue) throw new Error('the backend has no watchRunQueue: pass `runQueueWake: false`');
    let calls = 0;
    const watch = storage.watchRunQueue(() => {
      calls++;
    });
    try {
      // A PostgreSQL watch needs its LISTEN in place: wait until a submission is seen.
      const id = ctx.uid('wake');
      await waitUntil(
        async () => {
          await other.createRun(ctx.makeRun(ctx.uid('wake-probe')));
          await new Promise((r) => setTimeout(r, 100));
          return calls > 0;
        },
        10_000,
        'the watcher to see a submission',
      );
      await other.createRun(ctx.makeRun(id, { status: 'STARTED' }));
      const before = calls;
      await other.updateRun(id, { status: 'SUCCESS', endedAt: Date.now() });
      await waitUntil(async () => calls > before, 10_000, 'the watcher to see a run end');
    } finally {
      await watch.close();
    }
    const after = calls;
    await other.createRun(ctx.makeRun(ctx.uid('wake-closed')));
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(after);
  });
}
