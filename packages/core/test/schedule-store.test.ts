import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import {
  MemoryRunStorage,
  PostgresRunStorage,
  type RunStorage,
  type ScheduleStore,
  SqliteRunStorage,
} from '../src/index.js';

const tmpRoot = mkdtempSync(join(tmpdir(), 'stepwise-schedule-store-'));
const databaseUrl = inject('databaseUrl');
const schema = randomSchemaName('schedules');
const opened: RunStorage[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  rmSync(tmpRoot, { recursive: true, force: true });
  await dropSchema(databaseUrl, schema);
});

/** Two handles on one storage (for SQLite and PostgreSQL two connections, as two processes would have). */
function stores(storages: RunStorage[]): ScheduleStore[] {
  opened.push(...storages);
  return storages.map((s) => {
    if (!s.schedules) throw new Error('storage without schedules');
    return s.schedules;
  });
}

const memory = new MemoryRunStorage();
const backends: Array<[string, () => ScheduleStore[]]> = [
  ['memory', () => stores([memory, memory])],
  ['SQLite', () => stores([0, 1].map(() => new SqliteRunStorage({ dir: join(tmpRoot, 'sqlite') })))],
  ['PostgreSQL', () => stores([0, 1].map(() => new PostgresRunStorage({ url: databaseUrl, schema })))],
];

let n = 0;
const name = () => `sched_${process.pid}_${++n}`;

describe.each(backends)('schedule storage on %s', (_backend, open) => {
  const [a, b] = open() as [ScheduleStore, ScheduleStore];

  it('keeps a schedule row (status, cursor, definition hash) and replaces it', async () => {
    const s = name();
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
    await b.putSchedule({ name: s, status: 'stopped', cursor, definitionHash: 'h2', updatedAt: 2 });
    expect(await a.getSchedule(s)).toEqual({ name: s, status: 'stopped', cursor, definitionHash: 'h2', updatedAt: 2 });
  });

  it('lets exactly one of many racing claimers take a tick', async () => {
    const s = name();
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

  it('hands a claim over only after its lease, and fences the old owner out', async () => {
    const s = name();
    const at = '2026-11-01T05:30:00.000Z';
    const claim = (owner: string, now: number) =>
      a.claimTick({ schedule: s, scheduledAt: at, owner, now, leaseMs: 100 });
    expect(await claim('dead', 1000)).toEqual({ claimed: true, attempt: 1 });
    expect(await claim('other', 1100)).toEqual({ claimed: false });
    expect(await claim('other', 1101)).toEqual({ claimed: true, attempt: 2 });
    expect(await b.finishTick(s, at, 'dead', { status: 'SUCCESS', runIds: ['r-late'] }, 1102)).toBe(false);
    expect(await b.finishTick(s, at, 'other', { status: 'SUCCESS', runIds: ['r1'] }, 1103)).toBe(true);
    // A finished tick is never claimed again, however old its lease.
    expect(await claim('third', 10_000_000)).toEqual({ claimed: false });
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

  it('lists ticks newest first with reasons and errors, up to the limit', async () => {
    const s = name();
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
});
