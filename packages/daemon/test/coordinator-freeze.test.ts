import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { submitRun } from '@stepwise/core';
import { waitUntil } from '@stepwise/testing';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import { engineEvents, Instance, makeHome, PIPELINES, startDaemonProcess, stop, waitEnded } from './support.js';

// A coordinator frozen (SIGSTOP) past its lease, resumed elsewhere by the daemon's monitor, then thawed (SIGCONT):
// its late writes are refused by the lease's epoch, it exits, and the run is recorded once. Real daemon, real
// `stepwise run --run-id` / `stepwise resume` processes (the process launcher), SQLite and PostgreSQL.
const FAST = `
runMonitoring: { heartbeatTimeoutMs: 2000, intervalMs: 250 }
daemon: { heartbeatIntervalMs: 300, heartbeatTimeoutMs: 1500 }
runLauncher: { process: {} }
runCoordinator: { queued: { dequeueIntervalMs: 100 } }
`;
const schema = randomSchemaName('freeze');
const databaseUrl = inject('databaseUrl');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a frozen coordinator, resumed by the monitor, then thawed', () => {
  afterAll(() => dropSchema(databaseUrl, schema));

  it.each([
    ['SQLite', ''],
    ['PostgreSQL', `storage:\n  postgres: { url: "${databaseUrl}", schema: ${schema} }\n`],
  ])(
    'on %s: writes nothing that is applied, exits, and the run ends once',
    async (_kind, storageYaml) => {
      const home = makeHome(`${storageYaml}${FAST}`);
      const instance = await Instance.local(home);
      const daemon = await startDaemonProcess(home, instance, ['--no-scheduler']);
      let frozenPid: number | undefined;
      try {
        const log = join(home, 'first.log');
        const runId = await submitRun(instance, {
          file: PIPELINES,
          pipeline: 'resumable',
          runConfig: { ops: { first: { config: { log } }, slow: { config: { ms: 4_000 } } } },
        });
        await waitUntil(
          async () =>
            (await instance.storage.getEvents(runId, { types: ['STEP_START'] })).some((e) => e.stepKey === 'slow'),
          60_000,
          'the slow step to start',
        );
        const launched = engineEvents(await instance.storage.getEvents(runId), 'launched').at(-1);
        frozenPid = Number(launched?.data.details?.pid);
        expect(frozenPid).toBeGreaterThan(0);
        process.kill(frozenPid, 'SIGSTOP');
        // The monitor finds it silent past heartbeatTimeoutMs and resumes the run: the resumed coordinator takes the
        // expired lease (a newer epoch).
        await waitUntil(
          async () => ((await instance.storage.getLease(runId))?.epoch ?? 0) >= 2,
          60_000,
          'the resumed coordinator to take the lease',
        );
        process.kill(frozenPid, 'SIGCONT');
        const pid = frozenPid;
        await waitUntil(() => !alive(pid), 30_000, 'the thawed coordinator to exit');

        const [run] = await waitEnded(instance, [runId], 60_000);
        expect(run?.status).toBe('SUCCESS');
        const events = await instance.storage.getEvents(runId);
        const successes = (key: string) => events.filter((e) => e.type === 'STEP_SUCCESS' && e.stepKey === key);
        // The thawed coordinator's `slow` finished too, but its STEP_SUCCESS was refused: the successor's is the one.
        expect(successes('first')).toHaveLength(1);
        expect(successes('slow')).toHaveLength(1);
        expect(events.filter((e) => e.type === 'RUN_SUCCESS' || e.type === 'RUN_FAILURE').map((e) => e.type)).toEqual([
          'RUN_SUCCESS',
        ]);
        expect(engineEvents(events, 'resumed_by_monitor')).toHaveLength(1);
        const superseded = engineEvents(events, 'coordinator_superseded');
        expect(superseded.map((e) => e.data.details?.pid)).toEqual([pid]);
        // `first` succeeded before the freeze and ran once.
        expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([runId]);
        expect(daemon.exitCode).toBeNull();
      } finally {
        if (frozenPid !== undefined && alive(frozenPid)) {
          process.kill(frozenPid, 'SIGCONT');
          process.kill(frozenPid, 'SIGKILL');
        }
        await stop(daemon);
        await instance.close();
        rmSync(home, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
