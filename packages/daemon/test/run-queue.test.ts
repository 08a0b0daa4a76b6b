import { rmSync } from 'node:fs';
import { submitRun } from '@stepwise/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import { Instance, makeHome, maxOverlap, PIPELINES, startDaemonProcess, stop, waitEnded } from './support.js';

const schema = randomSchemaName('runqueue');
const databaseUrl = inject('databaseUrl');

// One `stepwise daemon` process (in-process launcher) on SQLite and on PostgreSQL, and the limits of docs/daemon.md
// read from stored times.
describe.each([
  ['SQLite', ''],
  ['PostgreSQL', `storage:\n  postgres: { url: "${databaseUrl}", schema: ${schema} }\n`],
])('%s run queue: limits and order, with a real daemon process', (kind, storageYaml) => {
  const home = makeHome(`${storageYaml}
runCoordinator:
  queued:
    maxConcurrentRuns: 3
    dequeueIntervalMs: 100
    tagConcurrencyLimits:
      - { key: team, value: ml, limit: 1 }
      - { key: tenant, perUniqueValue: true, limit: 1 }
runLauncher: { inProcess: {} }
`);
  let instance: Instance;
  let daemon: Awaited<ReturnType<typeof startDaemonProcess>> | undefined;
  const nap = (ms: number) => ({ ops: { nap: { config: { ms } } } });
  const submitNap = (ms: number, tags: Record<string, string> = {}, priority?: number) =>
    submitRun(instance, {
      file: PIPELINES,
      pipeline: 'sleepy',
      runConfig: nap(ms),
      tags,
      ...(priority === undefined ? {} : { priority }),
    });

  // Queued before any daemon runs, so the daemon's first pass sees them all. The daemon serves every test of the
  // file, so it starts here (a child process started inside a test would be that test's leak).
  const priorities = [0, 5, 1, 5, -1, 3];
  const priorityIds: string[] = [];
  beforeAll(async () => {
    instance = await Instance.local(home);
    for (const p of priorities) priorityIds.push(await submitNap(400, { group: 'priority' }, p));
    daemon = await startDaemonProcess(home, instance);
  });
  afterAll(async () => {
    if (daemon) await stop(daemon);
    await instance.close();
    rmSync(home, { recursive: true, force: true });
    if (kind === 'PostgreSQL') await dropSchema(databaseUrl, schema);
  });

  it('dequeues by priority, higher first, then FIFO', async () => {
    const runs = await waitEnded(instance, priorityIds, 30_000);
    expect(runs.map((r) => r.status)).toEqual(priorities.map(() => 'SUCCESS'));
    const dequeuedAt = (i: number) => runs[i]?.claim?.at as number;
    // 3 slots: the runs of priority 5, 5, 3 go first; then 1, 0, -1.
    const first = [1, 3, 5];
    const later = [2, 0, 4];
    for (const a of first) for (const b of later) expect(dequeuedAt(a)).toBeLessThan(dequeuedAt(b));
    expect(dequeuedAt(1)).toBeLessThanOrEqual(dequeuedAt(3));
    for (let i = 0; i < later.length - 1; i++) {
      expect(dequeuedAt(later[i] as number)).toBeLessThanOrEqual(dequeuedAt(later[i + 1] as number));
    }
  });

  it('20 runs with maxConcurrentRuns 3: never more than 3 in progress, the limit used, all succeed', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => submitNap(300)));
    const runs = await waitEnded(instance, ids, 60_000);
    expect(runs.every((r) => r.status === 'SUCCESS')).toBe(true);
    expect(maxOverlap(runs)).toBe(3);
  });

  it('tag limits by value and per unique value; a tag-blocked run does not block the runs behind it', async () => {
    const ml = [];
    for (let i = 0; i < 3; i++) ml.push(await submitNap(500, { team: 'ml' }));
    const tenantA = [await submitNap(500, { tenant: 'a' }), await submitNap(500, { tenant: 'a' })];
    const tenantB = [await submitNap(500, { tenant: 'b' })];
    const free = await submitNap(100);
    const runs = await waitEnded(instance, [...ml, ...tenantA, ...tenantB, free], 60_000);
    expect(runs.every((r) => r.status === 'SUCCESS')).toBe(true);
    const byId = new Map(runs.map((r) => [r.runId, r]));
    const pick = (ids: string[]) => ids.map((id) => byId.get(id) as (typeof runs)[number]);
    expect(maxOverlap(pick(ml))).toBe(1);
    expect(maxOverlap(pick(tenantA))).toBe(1);
    expect(maxOverlap(runs)).toBeLessThanOrEqual(3);
    // The untagged run, submitted last, did not wait behind the held-back ml and tenant-a runs.
    const lastMlEnd = Math.max(...pick(ml).map((r) => r.endedAt as number));
    expect((byId.get(free)?.startedAt as number) < lastMlEnd).toBe(true);
    expect(daemon?.exitCode).toBeNull();
  });
});
