// One coordinator per run (docs/GUARANTEES.md): a coordinator lease in storage, its epoch on every write and on
// every dispatch. Real coordinators (`stepwise run` / `stepwise resume` processes), a real worker, real Redis,
// SQLite and PostgreSQL; SIGSTOP, SIGCONT and SIGKILL are real.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Instance, type StoredEvent } from '@stepwise/core';
import {
  deletePrefix,
  exitCode,
  killAllWorkers,
  sleep,
  uniquePrefix,
  waitForWorkers,
  waitUntil,
} from '@stepwise/testing';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../setup/postgres.js';
import { CLI, FIXTURE, spawnWorker } from './harness.js';

const redisUrl = inject('redisUrl');
const databaseUrl = inject('databaseUrl');

let tmp: string;
let prefix: string;
let schema: string | undefined;
const spawned: ChildProcess[] = [];

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'stepwise-fencing-'));
  prefix = uniquePrefix();
});

afterEach(async () => {
  for (const child of spawned.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
  await killAllWorkers();
  await deletePrefix(redisUrl, prefix);
  rmSync(tmp, { recursive: true, force: true });
  if (schema) await dropSchema(databaseUrl, schema);
  schema = undefined;
});

const home = () => join(tmp, 'home');
/** Short clocks: beats every 200 ms, a lease lasts 1.5 s. */
const env = () => ({
  ...process.env,
  STEPWISE_HOME: home(),
  STEPWISE_HEARTBEAT_MS: '200',
  STEPWISE_HEARTBEAT_TIMEOUT_MS: '1500',
});

function usePostgres(): void {
  schema = randomSchemaName('fence');
  mkdirSync(home(), { recursive: true });
  writeFileSync(join(home(), 'stepwise.yaml'), `storage:\n  postgres: { url: "${databaseUrl}", schema: ${schema} }\n`);
}

interface Coordinator {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | string>;
}

function coordinator(args: string[]): Coordinator {
  const child = spawn(process.execPath, [CLI, ...args, '--json'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, out: () => out, err: () => err, exited: exitCode(child, 90_000, `stepwise ${args[0]}`) };
}

/** `stepwise run` of the `bundled` fixture: 48 steps of `ms` each, recording their executions in `marker`. */
function startRun(marker: string, ms: number): Coordinator {
  const config = join(tmp, 'run.yaml');
  const ops = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`w${i}`, { config: { ms, marker } }]));
  writeFileSync(config, JSON.stringify({ execution: { queue: { redisUrl, prefix, lockDurationMs: 5_000 } }, ops }));
  return coordinator(['run', '-f', FIXTURE, '-p', 'bundled', '-c', config]);
}

const runIdOf = (c: Coordinator) =>
  waitUntil(() => /"runId":"([^"]+)"/.exec(c.out())?.[1], 20_000, 'the run id on the coordinator output');

async function storedLog(runId: string): Promise<{ events: StoredEvent[]; status: string | undefined }> {
  const instance = await Instance.local(home());
  try {
    return { events: await instance.storage.getEvents(runId), status: (await instance.storage.getRun(runId))?.status };
  } finally {
    await instance.close();
  }
}

/** The invariant of one coordinator per run: one success per step, one outcome, and the run's status is it. */
function expectOneCoordinatorsLog(events: StoredEvent[], status: string | undefined): void {
  const successes = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'STEP_SUCCESS' && e.stepKey) successes.set(e.stepKey, (successes.get(e.stepKey) ?? 0) + 1);
  }
  expect(successes.size).toBe(48);
  expect([...successes.values()].every((n) => n === 1)).toBe(true);
  const outcomes = events.filter((e) => e.type === 'RUN_SUCCESS' || e.type === 'RUN_FAILURE');
  expect(outcomes.map((e) => e.type)).toEqual(['RUN_SUCCESS']);
  expect(status).toBe('SUCCESS');
}

/** The details of the superseded coordinators' ENGINE_EVENTs. */
const supersededEvents = (events: StoredEvent[]) =>
  events.flatMap((e) =>
    e.type === 'ENGINE_EVENT' && e.data.kind === 'coordinator_superseded' ? [e.data.details] : [],
  );

const executions = (marker: string) => readFileSync(marker, 'utf8').trim().split('\n').sort();

describe('one coordinator per run', () => {
  it.each(['sqlite', 'postgres'])(
    'on %s: two coordinators, the second forced in at a random moment, record each step once and one outcome',
    async (storage) => {
      if (storage === 'postgres') usePostgres();
      spawnWorker({ redisUrl, prefix, name: 'w', concurrency: 4, lockDurationMs: 5_000 });
      await waitForWorkers(redisUrl, prefix, ['w']);
      for (let round = 0; round < 3; round++) {
        const marker = join(tmp, `marker-${round}`);
        // 48 steps of 600 ms on 4 slots: about 7 s, longer than a resume takes to start on a loaded machine.
        const first = startRun(marker, 600);
        const runId = await runIdOf(first);
        const delayMs = Math.floor(Math.random() * 1_500);
        await sleep(delayMs);
        const second = coordinator(['resume', runId, '--force']);
        const [firstCode, secondCode] = await Promise.all([first.exited, second.exited]);
        const { events, status } = await storedLog(runId);
        const context = `round ${round}, delay ${delayMs} ms, exits ${firstCode}/${secondCode}: ${second.err()}`;
        expect(firstCode, context).toBe(1);
        expect(secondCode, context).toBe(0);
        expectOneCoordinatorsLog(events, status);
        const superseded = supersededEvents(events);
        expect(superseded, context).toHaveLength(1);
        expect(superseded[0]).toMatchObject({ pid: first.child.pid, epoch: 1 });
        expect(first.out()).toMatch(/coordinator_superseded/);
      }
    },
    240_000,
  );

  it('a coordinator frozen past its lease and resumed elsewhere writes nothing and dispatches nothing when thawed', async () => {
    spawnWorker({ redisUrl, prefix, name: 'w', concurrency: 2, lockDurationMs: 5_000 });
    await waitForWorkers(redisUrl, prefix, ['w']);
    const marker = join(tmp, 'marker');
    const frozen = startRun(marker, 150);
    const runId = await runIdOf(frozen);
    await waitUntil(() => existsSync(marker) && executions(marker).length >= 4, 20_000, 'some steps to run');
    frozen.child.kill('SIGSTOP');
    const frozenAt = (await storedLog(runId)).events.length;
    // Past the lease (1.5 s): a plain resume takes the run.
    await sleep(2_000);
    const successor = coordinator(['resume', runId]);
    await waitUntil(() => successor.out().includes('"resumed"'), 20_000, 'the successor to take the run');
    frozen.child.kill('SIGCONT');
    const [frozenCode, successorCode] = await Promise.all([frozen.exited, successor.exited]);
    expect(frozenCode).toBe(1);
    expect(successorCode, successor.err()).toBe(0);
    const { events, status } = await storedLog(runId);
    expectOneCoordinatorsLog(events, status);
    // After the freeze, the frozen coordinator's one write is its ENGINE_EVENT; every other event is the successor's
    // (it starts with its `resumed` ENGINE_EVENT).
    const later = events.slice(frozenAt);
    expect(later[0]?.type === 'ENGINE_EVENT' && later[0].data.kind).toBe('resumed');
    expect(supersededEvents(events)).toHaveLength(1);
    expect(supersededEvents(events)[0]).toMatchObject({ pid: frozen.child.pid });
    // Nothing was dispatched twice: each step ran once.
    expect(executions(marker)).toEqual(Array.from({ length: 48 }, (_, i) => `w${i} 1`).sort());
  }, 120_000);

  it('resume of a live run exits 2 naming its coordinator; after SIGKILL and the lease timeout it takes over', async () => {
    spawnWorker({ redisUrl, prefix, name: 'w', concurrency: 2, lockDurationMs: 5_000 });
    await waitForWorkers(redisUrl, prefix, ['w']);
    const marker = join(tmp, 'marker');
    const live = startRun(marker, 150);
    const runId = await runIdOf(live);
    await waitUntil(() => existsSync(marker) && executions(marker).length >= 2, 20_000, 'some steps to run');
    const refused = coordinator(['resume', runId]);
    expect(await refused.exited).toBe(2);
    expect(refused.err()).toMatch(
      new RegExp(`coordinated by pid ${live.child.pid} on \\S+ \\(last heartbeat \\d+\\.\\d s ago\\).*--force`),
    );
    live.child.kill('SIGKILL');
    await live.exited.catch(() => {});
    await sleep(1_800);
    const successor = coordinator(['resume', runId]);
    expect(await successor.exited, successor.err()).toBe(0);
    const { events, status } = await storedLog(runId);
    expectOneCoordinatorsLog(events, status);
    expect(executions(marker)).toEqual(Array.from({ length: 48 }, (_, i) => `w${i} 1`).sort());
  }, 120_000);
});
