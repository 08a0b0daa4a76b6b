// Launch and re-execute through the API, run for real by a `stepwise daemon` process on the same SQLite storage.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Instance, STEPWISE_BIN } from '@stepwise/core';
import { killOnExit, stopProcess, waitUntil } from '@stepwise/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DaemonsResponse,
  ReexecuteResponse,
  RunDetailResponse,
  RunsFrame,
  StepsFrame,
  SubmitRunResponse,
} from '../../src/index.js';
import { openSse } from './sse-client.js';
import { call, PIPELINES, uiApp } from './support.js';

describe('launch and re-execute run by a real daemon', () => {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-ui-daemon-'));
  let instance: Instance;
  let daemon: ChildProcess;
  let output = '';
  beforeAll(async () => {
    writeFileSync(
      join(home, 'stepwise.yaml'),
      'runCoordinator:\n  queued: { maxConcurrentRuns: 4, dequeueIntervalMs: 200 }\nrunLauncher:\n  inProcess: {}\n',
    );
    instance = await Instance.local(home);
    daemon = spawn(process.execPath, [STEPWISE_BIN, 'daemon', '-f', PIPELINES, '--no-scheduler'], {
      env: { ...process.env, STEPWISE_HOME: home, STEPWISE_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killOnExit(daemon);
    daemon.stdout?.on('data', (d) => {
      output += d;
    });
    daemon.stderr?.on('data', (d) => {
      output += d;
    });
    await waitUntil(
      async () =>
        (await instance.storage.listDaemonHeartbeats()).some((d) => d.pid === daemon.pid) ||
        (daemon.exitCode !== null && Promise.reject(new Error(`daemon exited: ${output}`))),
      45_000,
      'the daemon heartbeat',
    );
  });
  afterAll(async () => {
    if (daemon) await stopProcess(daemon, { graceMs: 10_000 });
    await instance?.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function finished(app: ReturnType<typeof uiApp>, runId: string): Promise<RunDetailResponse> {
    let detail: RunDetailResponse | undefined;
    await waitUntil(
      async () => {
        detail = (await call<RunDetailResponse>(app, 'GET', `/api/runs/${runId}`)).body;
        // The log's end is written before the record's status: wait for both.
        return detail.run.finished && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(detail.run.status);
      },
      45_000,
      `run ${runId} to finish`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; daemon output: ${output.slice(-2000)}`);
    });
    return detail as RunDetailResponse;
  }

  it('a submitted run is run by the daemon, followed live; its re-execution from failure runs only boom and after', {
    timeout: 120_000,
  }, async () => {
    const app = uiApp(instance);
    const daemons = await call<DaemonsResponse>(app, 'GET', '/api/daemons');
    expect(daemons.body.daemons.some((d) => d.alive && d.pid === daemon.pid)).toBe(true);
    const list = await openSse(app, '/api/stream?runs=1');
    try {
      const launched = await call<SubmitRunResponse>(app, 'POST', '/api/runs', { pipeline: 'flaky' });
      expect(launched.status).toBe(201);
      const parent = await finished(app, launched.body.runId);
      expect(parent.run.status).toBe('FAILURE');
      expect(parent.failure).toMatchObject({ rootSteps: [{ key: 'boom' }], causedSkips: ['after'] });
      await list.until(
        (m) =>
          m.some(
            (x) =>
              x.event === 'runs' &&
              (x.data as RunsFrame).runs.some((r) => r.runId === launched.body.runId && r.status === 'FAILURE'),
          ),
        'the runs list to show the failure',
      );

      const child = await call<ReexecuteResponse>(app, 'POST', `/api/runs/${launched.body.runId}/reexecute`, {
        fromFailure: true,
      });
      expect(child.status).toBe(201);
      const live = await openSse(app, `/api/stream?run=${child.body.runId}`);
      try {
        const done = await finished(app, child.body.runId);
        expect(done.run).toMatchObject({ parentRunId: launched.body.runId, status: 'FAILURE' });
        expect(done.steps.find((s) => s.key === 'side')).toMatchObject({
          reused: true,
          reusedFrom: launched.body.runId,
        });
        expect(done.steps.find((s) => s.key === 'boom')).toMatchObject({ status: 'FAILURE', attempts: 1 });
        await live.until(
          (m) =>
            m.some(
              (x) =>
                x.event === 'steps' &&
                (x.data as StepsFrame).steps.some((s) => s.key === 'boom' && s.status === 'FAILURE'),
            ),
          'the child stream to show boom failing',
        );
      } finally {
        await live.close();
      }
    } finally {
      await list.close();
      await app.close();
    }
  });
});
