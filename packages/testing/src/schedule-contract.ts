/**
 * The scheduler part of the run-storage contract (see storage-contract.ts): schedule rows, tick claims under the
 * unique key, lease takeover and fencing, history and purge, on one storage object and (when the backend has a
 * shared database) across two.
 */
import type { RunStorage, ScheduleStore } from '@stepwise/core';
import { expect, it } from 'vitest';

export interface ScheduleContractContext {
  storage(): RunStorage;
  /** Another storage object on the same database, when the backend has one. */
  openAnother?: () => Promise<RunStorage>;
  uid(prefix: string): string;
}

function storeOf(storage: RunStorage): ScheduleStore {
  if (!storage.schedules) throw new Error('the backend keeps no schedules: pass `schedules: false` to the contract');
  return storage.schedules;
}

/** Registers the schedule-store tests in the current describe block. */
export function scheduleContract(ctx: ScheduleContractContext): void {
  /** Two handles on the storage: two objects on one database when the backend has one (as two processes would). */
  const pair = async (): Promise<[ScheduleStore, ScheduleStore]> => {
    const a = ctx.storage();
    const b = ctx.openAnother ? await ctx.openAnother() : a;
    await b.init();
    return [storeOf(a), storeOf(b)];
  };

  it('schedules: keeps a schedule row (status, cursor, definition hash, buffered instant) and replaces it', async () => {
    const [a, b] = await pair();
    const s = ctx.uid('sched');
    expect(await a.getSchedule(s)).toBeUndefined();
    await a.putSchedule({ name: s, status: 'running', cursor: null, definitionHash: 'h1', updatedAt: 1 });
    expect(await b.getSchedule(s)).toEqual({
      name: s,
      status: 'running',
      cursor: null,
      definitionHash: 'h1',
      updatedAt: 1,
    });
    const cursor = Date.parse('2026-03-08T07:00:00Z');
    await b.putSchedule({
      name: s,
      status: 'stopped',
      cursor,
      definitionHash: 'h2',
      buffered: cursor - 60_000,
      updatedAt: 2,
    });
    expect(await a.getSchedule(s)).toEqual({
      name: s,
      status: 'stopped',
      cursor,
      definitionHash: 'h2',
      buffered: cursor - 60_000,
      updatedAt: 2,
    });
    await a.putSchedule({ name: s, status: 'running', cursor, definitionHash: 'h2', updatedAt: 3 });
    expect((await b.getSchedule(s))?.buffered).toBeUndefined();
    const listed = (await b.listSchedules()).filter((row) => row.name === s);
    expect(listed).toEqual([{ name: s, status: 'running', cursor, definitionHash: 'h2', updatedAt: 3 }]);
  });

  it('schedules: exactly one of many racing claimers takes a tick', async () => {
    const [a, b] = await pair();
    const s = ctx.uid('sched');
    const at = '2026-03-08T07:00:00.000Z';
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? a : b).claimTick({ schedule: s, scheduledAt: at, owner: `p${i}`, now: 1000, leaseMs: 60_000 }),
      ),
    );
    expect(answers.filter((x) => x.claimed)).toEqual([{ claimed: true, attempt: 1 }]);
    const [tick] = await a.listTicks(s, 10);
    expect(tick).toMatchObject({ schedule: s, scheduledAt: at, status: 'STARTED', runIds: [], attempt: 1 });
    expect(tick?.claimedBy).toBe(`p${answers.findIndex((x) => x.claimed)}`);
  });

  it('schedules: hands a claim over only after its lease, and fences the old owner out', async () => {
    const [a, b] = await pair();
    const s = ctx.uid('sched');
    const at = '2026-11-01T05:30:00.000Z';
    const claim = (owner: string, now: number) =>
      a.claimTick({ schedule: s, scheduledAt: at, owner, now, leaseMs: 100 });
    expect(await claim('dead', 1000)).toEqual({ claimed: true, attempt: 1 });
    expect(await claim('other', 1100)).toEqual({ claimed: false, inProgress: true });
    expect(await claim('other', 1101)).toEqual({ claimed: true, attempt: 2 });
    expect(await b.finishTick(s, at, 'dead', { status: 'SUCCESS', runIds: ['r-late'] }, 1102)).toBe(false);
    expect(await b.finishTick(s, at, 'other', { status: 'SUCCESS', runIds: ['r1'] }, 1103)).toBe(true);
    // A finished tick is never claimed again, however old its lease.
    expect(await claim('third', 10_000_000)).toEqual({ claimed: false, inProgress: false });
    expect(await a.listTicks(s, 1)).toEqual([
      {
        schedule: s,
        scheduledAt: at,
        status: 'SUCCESS',
        runIds: ['r1'],
        claimedBy: 'other',
        leaseExpiresAt: 1201,
        attempt: 2,
        createdAt: 1000,
        updatedAt: 1103,
      },
    ]);
  });

  it('schedules: lists ticks newest first with reasons and errors, up to the limit', async () => {
    const [a, b] = await pair();
    const s = ctx.uid('sched');
    const outcomes = [
      { status: 'SKIPPED', reason: 'overlap: a run is in progress' },
      { status: 'FAILURE', error: 'runConfig threw: boom' },
      { status: 'MISSED' },
    ] as const;
    for (const [i, outcome] of outcomes.entries()) {
      const at = `2026-01-0${i + 1}T00:00:00.000Z`;
      await a.claimTick({ schedule: s, scheduledAt: at, owner: 'p', now: i, leaseMs: 10 });
      expect(await a.finishTick(s, at, 'p', outcome, i + 1)).toBe(true);
    }
    const ticks = await b.listTicks(s, 2);
    expect(ticks.map((t) => [t.scheduledAt, t.status, t.reason, t.error])).toEqual([
      ['2026-01-03T00:00:00.000Z', 'MISSED', undefined, undefined],
      ['2026-01-02T00:00:00.000Z', 'FAILURE', undefined, 'runConfig threw: boom'],
    ]);
    expect((await b.listTicks(s, 10))[2]).toMatchObject({ status: 'SKIPPED', reason: 'overlap: a run is in progress' });
    expect(await b.listTicks(`${s}_none`, 10)).toEqual([]);
  });

  it('schedules: purges finished ticks before an instant, keeps claims in progress and other schedules', async () => {
    const [a, b] = await pair();
    const [s, other] = [ctx.uid('sched'), ctx.uid('sched')];
    const at = (h: number) => `2026-01-01T0${h}:00:00.000Z`;
    for (const name of [s, other]) {
      for (const h of [1, 2, 3]) {
        await a.claimTick({ schedule: name, scheduledAt: at(h), owner: 'p', now: 1, leaseMs: 10 });
        if (h !== 2) await a.finishTick(name, at(h), 'p', { status: 'SUCCESS', runIds: [`r${h}`] }, 2);
      }
    }
    expect(await b.purgeTicks(s, at(3))).toBe(1);
    expect((await a.listTicks(s, 10)).map((t) => [t.scheduledAt, t.status])).toEqual([
      [at(3), 'SUCCESS'],
      [at(2), 'STARTED'],
    ]);
    expect(await a.listTicks(other, 10)).toHaveLength(3);
    // A purged instant is claimable again by key: the scheduler's cursor, not the history, keeps it from re-running.
    expect(await a.claimTick({ schedule: s, scheduledAt: at(1), owner: 'q', now: 3, leaseMs: 10 })).toEqual({
      claimed: true,
      attempt: 1,
    });
  });
}
