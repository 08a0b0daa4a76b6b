import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { submitRun } from '@stepwise/core';
import { exitCode, waitUntil } from '@stepwise/testing';
import { describe, expect, it } from 'vitest';
import { engineEvents, Instance, makeHome, PIPELINES, startDaemonProcess, waitEnded } from './support.js';

// The process launcher's warm spare: after a daemon's first launch, a `stepwise run --run-id -` process waits for
// the next run on its stdin; the next launch hands the run to it. Real daemon and run processes on SQLite.
describe('process launcher: the warm spare', () => {
  it('takes the next run (its log becomes the run log), and exits with the daemon', async () => {
    const home = makeHome('runLauncher: { process: {} }\nrunCoordinator: { queued: { dequeueIntervalMs: 100 } }\n');
    const instance = await Instance.local(home);
    const daemon = await startDaemonProcess(home, instance, ['--no-scheduler']);
    const runs = join(home, 'daemon', 'runs');
    const spares = () => (existsSync(runs) ? readdirSync(runs).filter((f) => f.startsWith('.spare-')) : []);
    const submitNap = () =>
      submitRun(instance, { file: PIPELINES, pipeline: 'sleepy', runConfig: { ops: { nap: { config: { ms: 50 } } } } });
    try {
      const first = await submitNap();
      await waitEnded(instance, [first], 60_000);
      // Started by the first launch, waiting.
      const [spare] = await waitUntil(() => spares().length === 1 && spares(), 20_000, 'a spare process');
      const second = await submitNap();
      const [a, b] = await waitEnded(instance, [first, second], 60_000);
      expect([a?.status, b?.status]).toEqual(['SUCCESS', 'SUCCESS']);
      // The spare ran the second run: its log file is now the run's; a new spare waits behind it.
      expect(existsSync(join(runs, spare as string))).toBe(false);
      expect(existsSync(join(runs, `${second}.log`))).toBe(true);
      const pid = (runId: string) =>
        instance.storage.getEvents(runId).then((e) => engineEvents(e, 'launched')[0]?.data.details?.pid);
      expect(await pid(second)).not.toBe(await pid(first));
      await waitUntil(() => spares().length === 1, 20_000, 'the next spare');
    } finally {
      daemon.kill('SIGTERM');
      expect(await exitCode(daemon, 20_000, 'the daemon to stop')).toBe(0);
      // The daemon let its spare go (EOF on its stdin) and removed its log.
      expect(spares()).toEqual([]);
      await instance.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 150_000);
});
