/**
 * The coordinator-lease part of the run-storage contract (see storage-contract.ts): takes, renewals and fenced
 * writes, on one storage object and (when the backend has a shared database) on two at once.
 */
import {
  CoordinatorSupersededError,
  type LeaseOwner,
  makeEvent,
  type RunRecord,
  type RunStorage,
  type StepwiseEvent,
} from '@stepwise/core';
import { expect, it } from 'vitest';

export interface LeaseContractContext {
  storage(): RunStorage;
  /** Another storage object on the same database, when the backend has one. */
  openAnother?: () => Promise<RunStorage>;
  makeRun(runId: string): RunRecord;
  uid(prefix: string): string;
}

const owner = (id: string): LeaseOwner => ({ id, host: 'host-a', pid: 4242 });
const event = (runId: string, msg: string): StepwiseEvent => makeEvent('LOG', runId, { level: 'info', msg });

/** Registers the lease tests in the current describe block. */
export function leaseContract(ctx: LeaseContractContext): void {
  it('takes a lease when free or expired or forced, each take a new epoch; refuses while it is live', async () => {
    const storage = ctx.storage();
    const runId = ctx.uid('lease');
    expect(await storage.getLease(runId)).toBeUndefined();
    const first = await storage.takeLease(runId, { owner: owner('a'), ttlMs: 1_000, now: 10_000 });
    expect(first).toEqual({
      taken: true,
      lease: { runId, owner: owner('a'), epoch: 1, renewedAt: 10_000, expiresAt: 11_000 },
    });
    const refused = await storage.takeLease(runId, { owner: owner('b'), ttlMs: 1_000, now: 10_999 });
    expect(refused).toEqual({ taken: false, holder: first.taken ? first.lease : undefined });
    const forced = await storage.takeLease(runId, { owner: owner('b'), ttlMs: 1_000, now: 10_999, force: true });
    expect(forced.taken && forced.lease.epoch).toBe(2);
    const expired = await storage.takeLease(runId, { owner: owner('c'), ttlMs: 1_000, now: 12_000 });
    expect(expired.taken && expired.lease).toMatchObject({ epoch: 3, owner: owner('c') });
    expect(await storage.getLease(runId)).toMatchObject({ epoch: 3, owner: owner('c'), expiresAt: 13_000 });
  });

  it('renews only the current epoch, moving its expiry', async () => {
    const storage = ctx.storage();
    const runId = ctx.uid('renew');
    await storage.takeLease(runId, { owner: owner('a'), ttlMs: 1_000, now: 0 });
    expect(await storage.renewLease(runId, 1, 900, 1_000)).toBe(true);
    // Renewed at 900: still live at 1,500, when the first take would have expired.
    expect((await storage.takeLease(runId, { owner: owner('b'), ttlMs: 1_000, now: 1_500 })).taken).toBe(false);
    await storage.takeLease(runId, { owner: owner('b'), ttlMs: 1_000, now: 1_500, force: true });
    expect(await storage.renewLease(runId, 1, 1_600, 1_000)).toBe(false);
    expect(await storage.getLease(runId)).toMatchObject({ epoch: 2, renewedAt: 1_500 });
    expect(await storage.renewLease(ctx.uid('no-lease'), 1, 0, 1_000)).toBe(false);
  });

  it('refuses whole the event appends and run updates of an older epoch; takes the current and unfenced ones', async () => {
    const storage = ctx.storage();
    const runId = ctx.uid('fence');
    await storage.createRun(ctx.makeRun(runId));
    // No lease yet: a fenced write goes through (a run created before leases existed).
    await storage.appendEvents([event(runId, 'before')], { epoch: 1 });
    await storage.takeLease(runId, { owner: owner('a'), ttlMs: 60_000, now: Date.now() });
    await storage.appendEvents([event(runId, 'a1')], { epoch: 1 });
    await storage.takeLease(runId, { owner: owner('b'), ttlMs: 60_000, now: Date.now(), force: true });
    const other = ctx.uid('other');
    await expect(
      storage.appendEvents([event(other, 'o'), event(runId, 'a2'), event(runId, 'a3')], { epoch: 1 }),
    ).rejects.toBeInstanceOf(CoordinatorSupersededError);
    await expect(storage.updateRun(runId, { status: 'SUCCESS' }, { epoch: 1 })).rejects.toBeInstanceOf(
      CoordinatorSupersededError,
    );
    await storage.appendEvents([event(runId, 'b1')], { epoch: 2 });
    await storage.appendEvents([event(runId, 'unfenced')]);
    await storage.updateRun(runId, { status: 'STARTED' }, { epoch: 2 });
    const msgs = (await storage.getEvents(runId)).map((e) => (e.type === 'LOG' ? e.data.msg : ''));
    expect(msgs).toEqual(['before', 'a1', 'b1', 'unfenced']);
    expect(await storage.getEvents(other)).toEqual([]);
    expect((await storage.getRun(runId))?.status).toBe('STARTED');
  });

  const { openAnother } = ctx;
  if (openAnother) {
    it('concurrent takes from two storage objects: one wins a free lease; forced takes get distinct epochs', async () => {
      const a = ctx.storage();
      const b = await openAnother();
      await b.init();
      const runId = ctx.uid('race');
      const now = Date.now();
      const takes = Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? a : b).takeLease(runId, { owner: owner(`o${i}`), ttlMs: 60_000, now }),
      );
      const answers = await Promise.all(takes);
      expect(answers.filter((x) => x.taken)).toHaveLength(1);
      const forced = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 ? a : b).takeLease(runId, { owner: owner(`f${i}`), ttlMs: 60_000, now, force: true }),
        ),
      );
      const epochs = forced.map((x) => (x.taken ? x.lease.epoch : 0)).sort((x, y) => x - y);
      expect(epochs).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
      expect((await a.getLease(runId))?.epoch).toBe(13);
    });
  }
}
