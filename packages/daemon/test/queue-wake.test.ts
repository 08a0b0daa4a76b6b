import { rmSync } from 'node:fs';
import { queueWatchApplicationName, type RunRecord, submitRun } from '@stepwise/core';
import { testRunRecord, waitUntil } from '@stepwise/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import { Instance, makeHome, PIPELINES, startDaemonProcess, stop } from './support.js';

// The run queue's interval is a minute here: a run dequeued within seconds was dequeued because storage woke the
// daemon (a NOTIFY on PostgreSQL, the change counter on SQLite), not by its poll. The bounds are generous (a loaded
// machine), and well below the interval.
const INTERVAL_MS = 60_000;
const BOUND_MS = 15_000;

const schema = randomSchemaName('wake');
const databaseUrl = inject('databaseUrl');

describe.each([
  ['SQLite', ''],
  ['PostgreSQL', `storage:\n  postgres: { url: "${databaseUrl}", schema: ${schema} }\n`],
])('%s: submissions and run ends wake the run queue', (kind, storageYaml) => {
  const home = makeHome(`${storageYaml}
runCoordinator: { queued: { maxConcurrentRuns: 1, dequeueIntervalMs: ${INTERVAL_MS} } }
runLauncher: { inProcess: {} }
daemon: { heartbeatIntervalMs: 200 }
`);
  let instance: Instance;
  let daemon: Awaited<ReturnType<typeof startDaemonProcess>> | undefined;
  const dequeuedRun = (runId: string) =>
    waitUntil(
      async () => {
        const run = await instance.storage.getRun(runId);
        return run?.claim !== undefined && run;
      },
      BOUND_MS * 2,
      `run ${runId} to be dequeued`,
      20,
    );
  const submitNap = () =>
    submitRun(instance, { file: PIPELINES, pipeline: 'sleepy', runConfig: { ops: { nap: { config: { ms: 50 } } } } });

  beforeAll(async () => {
    instance = await Instance.local(home);
    // Only the run queue: the monitor would wake it too when it ends a run.
    daemon = await startDaemonProcess(home, instance, ['--no-monitor', '--no-scheduler']);
    // Its first pass (at start) is behind it: the next one is a minute away unless something wakes it.
    await waitUntil(
      async () =>
        (await instance.storage.listDaemonHeartbeats()).some(
          (d) => d.pid === daemon?.pid && d.loops.runQueue?.lastIterationAt !== undefined,
        ),
      20_000,
      'the run queue to finish its first pass',
    );
  });
  afterAll(async () => {
    if (daemon) await stop(daemon);
    await instance.close();
    rmSync(home, { recursive: true, force: true });
    if (kind === 'PostgreSQL') await dropSchema(databaseUrl, schema);
  });

  it('a submitted run is dequeued at once, not at the next interval', async () => {
    const runId = await submitNap();
    const run = await dequeuedRun(runId);
    expect((run.claim?.at as number) - run.createdAt).toBeLessThan(BOUND_MS);
    await waitUntil(async () => (await instance.storage.getRun(runId))?.endedAt !== undefined, 20_000, 'the run');
  });

  it('a slot freed by a run that ended elsewhere (not launched by this daemon) dequeues the next run at once', async () => {
    // A run in progress whose coordinator is not this daemon's: the daemon learns of its end only from storage.
    const blocker = `wake-blocker-${process.pid}-${Date.now()}`;
    await instance.storage.createRun(testRunRecord(blocker, { status: 'STARTED', startedAt: Date.now() }));
    const waiting = await submitNap();
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await instance.storage.getRun(waiting))?.status).toBe('QUEUED');
    const endedAt = Date.now();
    await instance.storage.updateRun(blocker, { status: 'SUCCESS', endedAt });
    const run: RunRecord = await dequeuedRun(waiting);
    expect((run.claim?.at as number) - endedAt).toBeLessThan(BOUND_MS);
  });

  // PostgreSQL only: SQLite's wake-up has no connection to lose.
  if (kind === 'PostgreSQL')
    it('a dropped LISTEN connection is opened again, and wakes the queue again', async () => {
      const admin = new pg.Client({ connectionString: databaseUrl });
      admin.on('error', () => {});
      await admin.connect();
      try {
        const listeners = async () =>
          (
            await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
              queueWatchApplicationName(schema),
            ])
          ).rows.map((r) => r.pid);
        const [old] = await waitUntil(
          async () => {
            const pids = await listeners();
            return pids.length === 1 && pids;
          },
          10_000,
          'the daemon to LISTEN',
        );
        await admin.query('SELECT pg_terminate_backend($1)', [old]);
        await waitUntil(
          async () => {
            const pids = await listeners();
            return pids.length === 1 && pids[0] !== old;
          },
          20_000,
          'the daemon to LISTEN again',
        );
      } finally {
        await admin.end();
      }
      const runId = await submitNap();
      const run = await dequeuedRun(runId);
      expect((run.claim?.at as number) - run.createdAt).toBeLessThan(BOUND_MS);
      expect(daemon?.exitCode).toBeNull();
    });
});
