import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { submitRun } from '@stepwise/core';
import { deletePrefix, exited, uniquePrefix, waitUntil } from '@stepwise/testing';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import {
  engineEvents,
  Instance,
  makeHome,
  PIPELINES,
  startCli,
  startDaemonProcess,
  stop,
  waitEnded,
} from './support.js';

// Short clocks so that a kill is noticed within seconds: daemons presumed dead after 1.5 s of silence,
// coordinators after 2 s (they beat every 2 s / 3).
const FAST = `
runMonitoring: { heartbeatTimeoutMs: 2000, intervalMs: 250 }
daemon: { heartbeatIntervalMs: 300, heartbeatTimeoutMs: 1500 }
`;

/** Waits until the run's `slow` step has started: `first` has succeeded and is stored. */
function slowStarted(instance: Instance, runId: string): Promise<true> {
  return waitUntil(
    async () => (await instance.storage.getEvents(runId, { types: ['STEP_START'] })).some((e) => e.stepKey === 'slow'),
    40_000,
    'the slow step to start',
  );
}

/** The pid the last `launched` event of a run names (the coordinator's process). */
async function coordinatorPid(instance: Instance, runId: string): Promise<number> {
  const launched = engineEvents(await instance.storage.getEvents(runId), 'launched').at(-1);
  return Number(launched?.data.details?.pid);
}

async function expectResumedOnce(instance: Instance, runId: string, log: string): Promise<void> {
  const [run] = await waitEnded(instance, [runId], 60_000);
  expect(run?.status).toBe('SUCCESS');
  const events = await instance.storage.getEvents(runId);
  expect(engineEvents(events, 'resumed_by_monitor').length).toBeGreaterThanOrEqual(1);
  expect(events.filter((e) => e.type === 'RUN_START')).toHaveLength(1);
  // `first` succeeded before the kill and did not run again.
  expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([runId]);
  expect(events.filter((e) => e.type === 'STEP_SUCCESS' && e.stepKey === 'first')).toHaveLength(1);
}

const pgSchema = randomSchemaName('faults');

describe('faults: real SIGKILLs', () => {
  afterAll(() => dropSchema(inject('databaseUrl'), pgSchema));

  it('SIGKILL of the daemon mid-dequeue and mid-launch: a new daemon carries on, nothing lost or launched twice', async () => {
    const home = makeHome(`${FAST}
runCoordinator: { queued: { maxConcurrentRuns: 20, dequeueIntervalMs: 50 } }
runLauncher: { inProcess: {} }
`);
    const instance = await Instance.local(home);
    try {
      const ids = await Promise.all(
        Array.from({ length: 12 }, () =>
          submitRun(instance, {
            file: PIPELINES,
            pipeline: 'sleepy',
            runConfig: { ops: { nap: { config: { ms: 1500 } } } },
          }),
        ),
      );
      const first = await startDaemonProcess(home, instance);
      // The moment it has claimed a run, before it has launched them all.
      await waitUntil(
        async () => (await instance.storage.listRuns({ status: ['STARTING', 'STARTED'] })).length > 0,
        20_000,
        'the first daemon to claim a run',
        5,
      );
      first.kill('SIGKILL');
      await exited(first);
      const claimed = await instance.storage.listRuns({ status: ['STARTING', 'STARTED'] });
      expect(claimed.length).toBeGreaterThan(0);
      const second = await startDaemonProcess(home, instance);
      try {
        const ended = await waitEnded(instance, ids, 90_000);
        expect(ended.map((r) => r.status)).toEqual(ids.map(() => 'SUCCESS'));
        for (const id of ids) {
          const events = await instance.storage.getEvents(id);
          // One coordinator started each run: at most one RUN_START, whatever the kill interrupted.
          expect(events.filter((e) => e.type === 'RUN_START').length, id).toBeLessThanOrEqual(1);
          expect(
            events.filter((e) => e.type === 'RUN_SUCCESS'),
            id,
          ).toHaveLength(1);
        }
      } finally {
        await stop(second);
      }
    } finally {
      await instance.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 150_000);

  it.each([
    ['SQLite', ''],
    ['PostgreSQL', `storage:\n  postgres: { url: "${inject('databaseUrl')}", schema: ${pgSchema} }\n`],
  ])(
    "on %s: SIGKILL of a run's coordinator (process launcher): the monitor resumes it, SUCCESS, no succeeded step re-run",
    async (_kind, storageYaml) => {
      const home = makeHome(`${storageYaml}${FAST}
runLauncher: { process: {} }
runCoordinator: { queued: { dequeueIntervalMs: 100 } }
`);
      const instance = await Instance.local(home);
      const daemon = await startDaemonProcess(home, instance);
      try {
        const log = join(home, 'first.log');
        const runId = await submitRun(instance, {
          file: PIPELINES,
          pipeline: 'resumable',
          runConfig: { ops: { first: { config: { log } }, slow: { config: { ms: 3_000 } } } },
        });
        await slowStarted(instance, runId);
        process.kill(await coordinatorPid(instance, runId), 'SIGKILL');
        await expectResumedOnce(instance, runId, log);
        expect(await coordinatorPid(instance, runId)).not.toBe(daemon.pid);
      } finally {
        await stop(daemon);
        await instance.close();
        rmSync(home, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it("SIGKILL of the queue launcher's runs worker: the monitor resumes the run on another worker", async () => {
    const redisUrl = inject('redisUrl');
    const prefix = uniquePrefix('runs');
    const home = makeHome(`${FAST}
runLauncher: { queue: { redisUrl: "${redisUrl}", prefix: "${prefix}" } }
runCoordinator: { queued: { dequeueIntervalMs: 100 } }
`);
    const instance = await Instance.local(home);
    const daemon = await startDaemonProcess(home, instance);
    const workerA = startCli(home, ['worker', '--runs']);
    let workerB: ReturnType<typeof startCli> | undefined;
    try {
      const log = join(home, 'first.log');
      const runId = await submitRun(instance, {
        file: PIPELINES,
        pipeline: 'resumable',
        runConfig: { ops: { first: { config: { log } }, slow: { config: { ms: 3_000 } } } },
      });
      await slowStarted(instance, runId);
      workerA.kill('SIGKILL');
      await exited(workerA);
      workerB = startCli(home, ['worker', '--runs']);
      await expectResumedOnce(instance, runId, log);
      const jobs = engineEvents(await instance.storage.getEvents(runId), 'launched').map((e) => e.data.details?.jobId);
      expect(jobs).toEqual([`launch-${runId}`, `resume-${runId}-1`]);
    } finally {
      workerA.kill('SIGKILL');
      if (workerB) await stop(workerB);
      await stop(daemon);
      await instance.close();
      await deletePrefix(redisUrl, prefix);
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);
});
