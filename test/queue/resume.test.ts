import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deletePrefix, killAllWorkers, uniquePrefix, waitForWorkers, waitUntil, within } from '@stepwise/testing';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../setup/postgres.js';
import { CLI, FIXTURE, spawnWorker } from './harness.js';

const run = promisify(execFile);
const redisUrl = inject('redisUrl');

let tmp: string;
let prefix: string;
let coordinator: ChildProcess | undefined;
let schema: string | undefined;
const databaseUrl = inject('databaseUrl');

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'stepwise-resume-'));
  prefix = uniquePrefix();
});

afterEach(async () => {
  coordinator?.kill('SIGKILL');
  await killAllWorkers();
  await deletePrefix(redisUrl, prefix);
  rmSync(tmp, { recursive: true, force: true });
  if (schema) await dropSchema(databaseUrl, schema);
  schema = undefined;
});

const env = () => ({ ...process.env, STEPWISE_HOME: join(tmp, 'home'), STEPWISE_HEARTBEAT_TIMEOUT_MS: '1500' });

/**
 * Starts `stepwise run -p PIPELINE` with `runConfig`, kills it with SIGKILL once `started()` holds (and `settleMs`
 * more have passed), returns the run id.
 */
async function runAndKill(
  pipelineName: string,
  runConfig: Record<string, unknown>,
  started: () => boolean,
  settleMs = 0,
): Promise<string> {
  const config = join(tmp, `${pipelineName}.json.yaml`);
  writeFileSync(config, JSON.stringify(runConfig));
  const child = spawn(process.execPath, [CLI, 'run', '-f', FIXTURE, '-p', pipelineName, '-c', config, '--json'], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  coordinator = child;
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitUntil(started, 20_000, `run of ${pipelineName} to reach the kill point`);
  const runId = await waitUntil(() => /"runId":"([^"]+)"/.exec(out)?.[1], 5_000, 'the run id');
  await new Promise((r) => setTimeout(r, settleMs));
  child.kill('SIGKILL');
  await within(new Promise((r) => child.once('exit', r)), 5_000, 'the coordinator to die');
  return runId;
}

/** The resumable pipeline, killed once `long` runs. */
function startAndKill(execution: Record<string, unknown>, marker: string): Promise<string> {
  return runAndKill(
    'resumable',
    {
      execution,
      ops: { first: { config: { marker } }, last: { config: { marker } }, long: { config: { ms: 2_500, marker } } },
    },
    () => existsSync(marker) && readFileSync(marker, 'utf8').includes('long 1'),
    // Let the events of `first` reach storage (they are written in batches) before the kill.
    500,
  );
}

async function runsJson(): Promise<Array<{ runId: string; status: string; orphaned: boolean }>> {
  const { stdout } = await run(process.execPath, [CLI, 'runs', 'list', '--json'], { env: env(), timeout: 15_000 });
  const parsed = JSON.parse(stdout) as { runs?: unknown } | unknown[];
  return (Array.isArray(parsed) ? parsed : (parsed as { runs: unknown[] }).runs) as Array<{
    runId: string;
    status: string;
    orphaned: boolean;
  }>;
}

function executions(marker: string): string[] {
  return readFileSync(marker, 'utf8').trim().split('\n').sort();
}

describe('coordinator recovery', () => {
  it('queue executor: resume re-adopts the step still running on a worker and finishes the run', async () => {
    const marker = join(tmp, 'marker');
    spawnWorker({ redisUrl, prefix, name: 'steady', lockDurationMs: 5_000 });
    await waitForWorkers(redisUrl, prefix, ['steady']);
    const runId = await startAndKill({ queue: { redisUrl, prefix, lockDurationMs: 5_000 } }, marker);
    const orphan = await waitUntil(
      async () => (await runsJson()).find((r) => r.runId === runId && r.orphaned),
      10_000,
      'the run to show as orphaned',
    );
    expect(orphan.status).toBe('STARTED');
    const resumed = await run(process.execPath, [CLI, 'resume', runId, '--json'], { env: env(), timeout: 40_000 });
    expect(resumed.stdout).toMatch(/RUN_SUCCESS/);
    const after = (await runsJson()).find((r) => r.runId === runId);
    expect(after?.status).toBe('SUCCESS');
    // Nothing that had run (first) or was running on the worker (long) ran again.
    expect(executions(marker)).toEqual(['first 1', 'last 1', 'long 1']);
  }, 90_000);

  it('queue executor: resume with bundled steps still queued runs each step once', async () => {
    const marker = join(tmp, 'marker');
    spawnWorker({ redisUrl, prefix, name: 'steady', concurrency: 2, lockDurationMs: 5_000 });
    await waitForWorkers(redisUrl, prefix, ['steady']);
    const keys = Array.from({ length: 48 }, (_, i) => `w${i}`);
    // 48 ready steps on 2 slots go out in bundles of 6; kill the coordinator while most are still queued.
    const runId = await runAndKill(
      'bundled',
      {
        execution: { queue: { redisUrl, prefix, lockDurationMs: 5_000 } },
        ops: Object.fromEntries(keys.map((k) => [k, { config: { ms: 500, marker } }])),
      },
      () => existsSync(marker) && executions(marker).length >= 4,
    );
    await waitUntil(
      async () => (await runsJson()).find((r) => r.runId === runId && r.orphaned),
      10_000,
      'the run to show as orphaned',
    );
    const resumed = await run(process.execPath, [CLI, 'resume', runId, '--json'], { env: env(), timeout: 60_000 });
    expect(resumed.stdout).toMatch(/RUN_SUCCESS/);
    // Every step ran, and none twice: the resumed coordinator watched the bundled steps through their jobs.
    expect(executions(marker)).toEqual(keys.map((k) => `${k} 1`).sort());
  }, 90_000);

  it.each(['sqlite', 'postgres'])(
    'in-process on %s: the log survives kill -9; resume re-runs only the step that died',
    async (storage) => {
      const marker = join(tmp, 'marker');
      if (storage === 'postgres') {
        schema = randomSchemaName('resume');
        mkdirSync(join(tmp, 'home'), { recursive: true });
        writeFileSync(
          join(tmp, 'home', 'stepwise.yaml'),
          `storage:\n  postgres: { url: "${databaseUrl}", schema: ${schema} }\n`,
        );
      }
      const runId = await startAndKill({ inProcess: {} }, marker);
      // Everything written before the kill is readable, and the run shows as not finished.
      const killed = await run(process.execPath, [CLI, 'runs', 'show', runId, '--json'], {
        env: env(),
        timeout: 15_000,
      });
      const view = JSON.parse(killed.stdout) as {
        finished: boolean;
        status: string;
        steps: Array<{ key: string; status: string }>;
      };
      expect(view.finished).toBe(false);
      expect(view.status).toBe('STARTED');
      expect(view.steps.find((s) => s.key === 'first')?.status).toBe('SUCCESS');
      // The killed coordinator's lease (STEPWISE_HEARTBEAT_TIMEOUT_MS, renewed at the latest when it was killed)
      // must expire before resume takes the run without --force.
      await new Promise((resolve) => setTimeout(resolve, 1_600));
      const resumed = await run(process.execPath, [CLI, 'resume', runId, '--json'], { env: env(), timeout: 40_000 });
      expect(resumed.stdout).toMatch(/RUN_SUCCESS/);
      expect(executions(marker)).toEqual(['first 1', 'last 1', 'long 1', 'long 2']);
      const show = await run(process.execPath, [CLI, 'runs', 'show', runId, '--json'], { env: env(), timeout: 15_000 });
      const steps = (JSON.parse(show.stdout) as { steps: Array<{ key: string; attempts: number; status: string }> })
        .steps;
      expect(steps.find((s) => s.key === 'long')?.attempts).toBe(2);
      expect(steps.every((s) => s.status === 'SUCCESS')).toBe(true);
    },
    90_000,
  );

  it('refuses to resume a finished run, naming reexecute', async () => {
    const marker = join(tmp, 'marker');
    const config = join(tmp, 'c.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        ops: { first: { config: { marker } }, last: { config: { marker } }, long: { config: { ms: 1, marker } } },
      }),
    );
    const done = await run(process.execPath, [CLI, 'run', '-f', FIXTURE, '-p', 'resumable', '-c', config, '--json'], {
      env: env(),
      timeout: 30_000,
    });
    const runId = /"runId":"([^"]+)"/.exec(done.stdout)?.[1] as string;
    const refused = await run(process.execPath, [CLI, 'resume', runId], { env: env(), timeout: 15_000 }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((refused as { code: number }).code).toBe(2);
    expect((refused as { stderr: string }).stderr).toMatch(/already ended \(SUCCESS\).*reexecute/);
  }, 60_000);
});
