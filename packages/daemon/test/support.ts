/** Real `stepwise` processes on a temporary instance home, for the daemon's tests and benchmark. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EventOf, Instance, type RunRecord, STEPWISE_BIN, type StoredEvent } from '@stepwise/core';
import { killOnExit, runProcess, stopProcess, waitUntil } from '@stepwise/testing';

export const PIPELINES = fileURLToPath(new URL('./fixtures/pipelines.ts', import.meta.url));

/** A new instance home holding `yaml` as its stepwise.yaml. */
export function makeHome(yaml: string): string {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-daemon-test-'));
  writeFileSync(join(home, 'stepwise.yaml'), yaml);
  return home;
}

export interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Starts `stepwise ARGS` on `home`; SIGKILLed if the test process exits first. */
export function startCli(
  home: string,
  args: string[],
  env: Record<string, string> = {},
): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [STEPWISE_BIN, ...args], {
    env: { ...process.env, STEPWISE_HOME: home, STEPWISE_DEBUG: '', STEPWISE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  return Object.assign(child, { output: () => output });
}

/** Runs `stepwise ARGS` to its end (at most `timeoutMs`). */
export function cli(home: string, args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return runProcess(process.execPath, [STEPWISE_BIN, ...args], {
    env: { STEPWISE_HOME: home, STEPWISE_DEBUG: '' },
    timeoutMs,
  });
}

/** `stepwise submit` of a fixture pipeline; resolves to the run id. */
export async function submit(home: string, pipeline: string, extra: string[] = []): Promise<string> {
  const r = await cli(home, ['submit', '-f', PIPELINES, '-p', pipeline, ...extra]);
  if (r.code !== 0) throw new Error(`submit failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

/** Starts `stepwise daemon` and waits until its heartbeat is in storage. */
export async function startDaemonProcess(
  home: string,
  instance: Instance,
  args: string[] = [],
): Promise<ChildProcess & { output: () => string }> {
  const before = new Set((await instance.storage.listDaemonHeartbeats()).map((d) => d.daemonId));
  const child = startCli(home, ['daemon', ...args]);
  await waitUntil(
    async () =>
      (await instance.storage.listDaemonHeartbeats()).some((d) => !before.has(d.daemonId) && d.pid === child.pid) ||
      (child.exitCode !== null && Promise.reject(new Error(`daemon exited: ${child.output()}`))),
    20_000,
    'the daemon to record its heartbeat',
  );
  return child;
}

export const stop = (child: ChildProcess) => stopProcess(child, { graceMs: 10_000 });

/** Waits until every run has ended; returns them. */
export async function waitEnded(
  instance: Instance,
  runIds: readonly string[],
  timeoutMs: number,
): Promise<RunRecord[]> {
  return waitUntil(
    async () => {
      const runs = await Promise.all(runIds.map((id) => instance.storage.getRun(id)));
      return runs.every((r) => r?.endedAt !== undefined) && (runs as RunRecord[]);
    },
    timeoutMs,
    `${runIds.length} runs to end`,
    100,
  );
}

export function engineEvents(events: readonly StoredEvent[], kind: string): Array<EventOf<'ENGINE_EVENT'>> {
  return events.filter(
    (e): e is StoredEvent & EventOf<'ENGINE_EVENT'> => e.type === 'ENGINE_EVENT' && e.data.kind === kind,
  );
}

/** The most runs in progress at once, from stored start and end times. */
export function maxOverlap(runs: readonly RunRecord[]): number {
  const points = runs.flatMap((r) => [
    [r.startedAt ?? 0, 1],
    [r.endedAt ?? 0, -1],
  ]);
  // An end before a start at the same instant: a slot freed and taken in the same millisecond is not an overlap.
  points.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
  let now = 0;
  let max = 0;
  for (const [, d] of points) {
    now += d as number;
    max = Math.max(max, now);
  }
  return max;
}

export { Instance };
