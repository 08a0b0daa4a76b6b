import { copyFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cancelRun, type RunRecord, startStoredRun, submitRun } from '@stepwise/core';
import { exitCode, waitUntil } from '@stepwise/testing';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Daemon, InProcessLauncher, type RunLauncher, startDaemon } from '../src/index.js';
import { cli, engineEvents, Instance, makeHome, PIPELINES, startDaemonProcess, stop, waitEnded } from './support.js';

const logger = pino({ level: 'silent' });
const nap = (ms: number) => ({ ops: { nap: { config: { ms } } } });

/** A launcher that takes the run and never starts it: the run stays STARTING. */
const blackHole: RunLauncher = {
  kind: 'process',
  launch: async () => ({}),
  resume: async () => ({}),
  close: async () => {},
};

describe('run lifecycle in the daemon (library daemon on SQLite)', () => {
  const home = makeHome('');
  let instance: Instance;
  let daemon: Daemon | undefined;
  beforeAll(async () => {
    instance = await Instance.local(home);
  });
  afterAll(async () => {
    await daemon?.stop();
    await instance.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('a run STARTING longer than startTimeoutMs fails with start_timeout; cancel works in QUEUED and STARTING', async () => {
    const queued = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy' });
    expect(await cancelRun(instance, queued)).toEqual({ action: 'canceled', status: 'CANCELED' });
    daemon = await startDaemon({
      instance,
      launcher: blackHole,
      logger,
      queue: { dequeueIntervalMs: 50 },
      monitoring: { startTimeoutMs: 1_500, intervalMs: 100 },
    });
    const timesOut = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy' });
    const canceled = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy' });
    await waitUntil(async () => (await instance.storage.getRun(canceled))?.status === 'STARTING', 10_000, 'STARTING');
    expect(await cancelRun(instance, canceled)).toEqual({ action: 'canceled', status: 'CANCELED' });
    // A launch that comes late finds nothing to start.
    await expect(startStoredRun(instance, canceled).result).rejects.toMatchObject({ code: 'RUN_NOT_STARTING' });
    const [run] = await waitEnded(instance, [timesOut], 10_000);
    expect(run?.status).toBe('FAILURE');
    const [event] = engineEvents(await instance.storage.getEvents(timesOut), 'start_timeout');
    expect(event?.message).toMatch(/did not start within runMonitoring.startTimeoutMs \(1500 ms\)/);
    expect((await instance.storage.getRun(queued))?.status).toBe('CANCELED');
    expect((await instance.storage.getRun(canceled))?.status).toBe('CANCELED');
    await daemon.stop();
    daemon = undefined;
  });

  it('a hand-edited run in progress is failed by the monitor with the cause; the others are still watched', async () => {
    const broken = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy' });
    const db = new Database(join(home, 'storage', 'stepwise.db'));
    db.prepare("UPDATE runs SET status = 'STARTED', tags = '[1]' WHERE run_id = ?").run(broken);
    db.close();
    daemon = await startDaemon({
      instance,
      launcher: blackHole,
      logger,
      monitoring: { startTimeoutMs: 1_000, intervalMs: 100 },
    });
    const stuck = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy' });
    await waitUntil(
      async () => (await instance.storage.getRunStatus(broken))?.status === 'FAILURE',
      10_000,
      'the broken run to fail',
    );
    const [event] = engineEvents(await instance.storage.getEvents(broken), 'malformed_run');
    expect(event?.message).toContain('column tags is not an object of strings');
    // The monitor still works for the other runs: this one times out of STARTING.
    const [run] = await waitEnded(instance, [stuck], 10_000);
    expect(run?.status).toBe('FAILURE');
    await daemon.stop();
    daemon = undefined;
  });

  it('a run whose code location no longer loads fails with the cause', async () => {
    // Next to the fixture, so that it resolves @stepwise/core the same way.
    const file = join(dirname(PIPELINES), `gone-${process.pid}-${Date.now()}.ts`);
    copyFileSync(PIPELINES, file);
    const runId = await submitRun(instance, { file, pipeline: 'sleepy', runConfig: nap(50) });
    rmSync(file);
    daemon = await startDaemon({
      instance,
      logger,
      launcher: (c) => new InProcessLauncher(c),
      queue: { dequeueIntervalMs: 50 },
    });
    const [run] = await waitEnded(instance, [runId], 15_000);
    expect(run?.status).toBe('FAILURE');
    const events = await instance.storage.getEvents(runId);
    const [failed] = engineEvents(events, 'launch_failed');
    expect(failed?.message).toContain(`pipeline file '${file}' not found`);
    expect(events.some((e) => e.type === 'RUN_START')).toBe(false);
    await daemon.stop();
    daemon = undefined;
  });
});

describe('run lifecycle with a real daemon process (in-process launcher, SQLite)', () => {
  const home = makeHome(`
runCoordinator: { queued: { maxConcurrentRuns: 5, dequeueIntervalMs: 100 } }
runLauncher: { inProcess: {} }
runMonitoring: { intervalMs: 200 }
`);
  let instance: Instance;
  let daemon: Awaited<ReturnType<typeof startDaemonProcess>>;
  beforeAll(async () => {
    instance = await Instance.local(home);
    daemon = await startDaemonProcess(home, instance);
  });
  afterAll(async () => {
    await stop(daemon);
    await instance.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('cancel of a STARTED run, and the tag stepwise/max-runtime-ms, cancel it', async () => {
    const long = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy', runConfig: nap(20_000) });
    const capped = await submitRun(instance, {
      file: PIPELINES,
      pipeline: 'sleepy',
      runConfig: nap(20_000),
      tags: { 'stepwise/max-runtime-ms': '800' },
    });
    await waitUntil(async () => (await instance.storage.getRun(long))?.status === 'STARTED', 15_000, 'STARTED');
    expect((await cli(home, ['cancel', long])).code).toBe(0);
    const [a, b] = await waitEnded(instance, [long, capped], 20_000);
    expect([a?.status, b?.status]).toEqual(['CANCELED', 'CANCELED']);
    const [exceeded] = engineEvents(await instance.storage.getEvents(capped), 'max_runtime_exceeded');
    expect(exceeded?.message).toMatch(/ran longer than its stepwise\/max-runtime-ms tag \(800 ms\)/);
    expect((b?.endedAt as number) - (b?.startedAt as number)).toBeLessThan(10_000);
  });

  it('a hand-edited stored run is failed with the cause; the other runs go on and the daemon lives', async () => {
    const bad = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy', runConfig: nap(3_000) });
    const good = await submitRun(instance, { file: PIPELINES, pipeline: 'sleepy', runConfig: nap(50) });
    // The first is still QUEUED or just dequeued: break its plan in the database the daemon reads.
    const db = new Database(join(home, 'storage', 'stepwise.db'));
    db.prepare("UPDATE runs SET plan = '{not json', status = 'QUEUED' WHERE run_id = ?").run(bad);
    db.close();
    const [badRun, goodRun] = await Promise.all([
      waitUntil(
        async () => {
          const status = await instance.storage.getRunStatus(bad);
          return status && ['FAILURE', 'SUCCESS'].includes(status.status) && status;
        },
        15_000,
        'the malformed run to end',
      ),
      waitEnded(instance, [good], 15_000).then((r) => r[0] as RunRecord),
    ]);
    expect(badRun.status).toBe('FAILURE');
    expect(goodRun.status).toBe('SUCCESS');
    const [event] = engineEvents(await instance.storage.getEvents(bad), 'malformed_run');
    expect(event?.message).toMatch(/stored run '.*' is malformed: column plan is not JSON/);
    expect(daemon.exitCode).toBeNull();
  });
  it('daemon status lists it with its loops; SIGTERM stops it cleanly (exit 0, heartbeat removed)', async () => {
    const status = await cli(home, ['daemon', 'status', '--json']);
    expect(status.code).toBe(0);
    const { daemons } = JSON.parse(status.stdout) as {
      daemons: Array<{ pid: number; alive: boolean; loops: Record<string, { intervalMs: number }> }>;
    };
    const mine = daemons.find((d) => d.pid === daemon.pid);
    expect(mine?.alive).toBe(true);
    expect(mine?.loops.runQueue?.intervalMs).toBe(100);
    expect(mine?.loops.monitor?.intervalMs).toBe(200);
    const text = await cli(home, ['daemon', 'status']);
    expect(text.stdout).toMatch(/runQueue\s+every 100 ms, last iteration/);
    daemon.kill('SIGTERM');
    expect(await exitCode(daemon, 15_000, 'the daemon to stop')).toBe(0);
    expect((await instance.storage.listDaemonHeartbeats()).some((d) => d.pid === daemon.pid)).toBe(false);
    expect((await cli(home, ['daemon', 'status'])).stdout).toContain('no live daemons');
  }, 90_000);
});

describe('bad input', () => {
  const home = makeHome('');
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('a bad config or a missing file at submit exits 2 naming it, and queues nothing', async () => {
    const badConfig = join(home, 'bad.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(badConfig, 'ops:\n  nap:\n    config: { ms: "soon" }\n');
    const r1 = await cli(home, ['submit', '-f', PIPELINES, '-p', 'sleepy', '-c', badConfig]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('ops.nap.config.ms');
    const r2 = await cli(home, ['submit', '-f', join(home, 'missing.ts')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("pipeline file '");
    expect(r2.stderr).toContain('missing.ts');
    const r3 = await cli(home, ['submit', '-f', PIPELINES, '-p', 'sleepy', '--priority', 'high']);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain("--priority must be an integer, got 'high'");
    const list = await cli(home, ['runs', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
  }, 90_000);

  it('an unreachable storage: one line, exit 2, from the daemon and from submit', async () => {
    const unreachable = makeHome('storage:\n  postgres: { url: "postgres://nobody@127.0.0.1:1/x" }\n');
    try {
      for (const args of [['daemon'], ['daemon', 'status'], ['submit', '-f', PIPELINES, '-p', 'sleepy']]) {
        const r = await cli(unreachable, args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain('could not connect to PostgreSQL at 127.0.0.1:1');
      }
    } finally {
      rmSync(unreachable, { recursive: true, force: true });
    }
  }, 90_000);
});
