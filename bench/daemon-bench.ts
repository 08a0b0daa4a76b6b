/**
 * The daemon (issue 13): submit → STARTED latency with each run launcher, and runs/s through the run queue for
 * one-step runs. A real `stepwise daemon` process on a SQLite instance in a temp dir; runs are submitted from this
 * process with submitRun (what a Node service does). STARTED is the run's stored startedAt (the coordinator sets it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Instance, STEPWISE_BIN, submitRun } from '@stepwise/core';
import { killOnExit, stopProcess, waitUntil } from '@stepwise/testing';
import { median } from './stats.js';

const PIPELINE = fileURLToPath(new URL('./daemon-pipeline.ts', import.meta.url));

export type LauncherKind = 'inProcess' | 'process' | 'queue';

export interface LatencyFigures {
  launcher: LauncherKind;
  dequeueIntervalMs: number;
  /** Time between one run's end and the next submission. */
  pauseMs: number;
  samples: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

export interface ThroughputFigures {
  launcher: LauncherKind;
  runs: number;
  maxConcurrentRuns: number;
  wallMs: number;
  runsPerSec: number;
}

interface Setup {
  launcher: LauncherKind;
  dequeueIntervalMs: number;
  maxConcurrentRuns: number;
  redisUrl?: string;
}

function launcherYaml(setup: Setup): string {
  if (setup.launcher === 'queue') {
    return `queue: { redisUrl: "${setup.redisUrl}", prefix: "{benchruns-${process.pid}}" }`;
  }
  return `${setup.launcher}: {}`;
}

/** A daemon (and, for the queue launcher, one `stepwise worker --runs`) on a new instance; `body` measures. */
async function withDaemon<T>(setup: Setup, body: (instance: Instance) => Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-bench-daemon-'));
  writeFileSync(
    join(home, 'stepwise.yaml'),
    `runCoordinator: { queued: { maxConcurrentRuns: ${setup.maxConcurrentRuns}, dequeueIntervalMs: ${setup.dequeueIntervalMs} } }
runLauncher: { ${launcherYaml(setup)} }
`,
  );
  const instance = await Instance.local(home);
  const spawnCli = (args: string[]) => {
    const child = spawn(process.execPath, [STEPWISE_BIN, ...args], {
      env: { ...process.env, STEPWISE_HOME: home, STEPWISE_LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    killOnExit(child);
    return child;
  };
  const children: ChildProcess[] = [spawnCli(['daemon'])];
  if (setup.launcher === 'queue') children.push(spawnCli(['worker', '--runs', '--concurrency', '16']));
  try {
    await waitUntil(async () => (await instance.storage.listDaemonHeartbeats()).length > 0, 30_000, 'the daemon');
    // One run first: the daemon (and worker) load the pipeline file once before the measured runs.
    const warm = await submitRun(instance, { file: PIPELINE });
    await waitUntil(async () => (await instance.storage.getRun(warm))?.endedAt, 60_000, 'the warm-up run');
    return await body(instance);
  } finally {
    await Promise.all(children.map((c) => stopProcess(c, { graceMs: 10_000 })));
    await instance.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Submits `samples` runs one after another, each once the previous has ended (and `pauseMs` more), and times
 * submit → STARTED. The pause is the time between runs in use: the process launcher's spare process warms up in it.
 */
export function measureLatency(setup: Setup, samples: number, pauseMs = 0): Promise<LatencyFigures> {
  return withDaemon(setup, async (instance) => {
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      const t0 = Date.now();
      const runId = await submitRun(instance, { file: PIPELINE });
      const startedAt = await waitUntil(
        async () => (await instance.storage.getRun(runId))?.startedAt,
        60_000,
        `run ${i} to start`,
        2,
      );
      latencies.push(startedAt - t0);
      await waitUntil(
        async () => (await instance.storage.getRunStatus(runId))?.status === 'SUCCESS',
        60_000,
        'the run to end',
        5,
      );
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      launcher: setup.launcher,
      dequeueIntervalMs: setup.dequeueIntervalMs,
      pauseMs,
      samples,
      medianMs: median(latencies),
      p99Ms: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] as number,
      maxMs: sorted.at(-1) as number,
    };
  });
}

/** Submits `runs` runs at once and times the first submit to the last run's end. */
export function measureThroughput(setup: Setup, runs: number): Promise<ThroughputFigures> {
  return withDaemon(setup, async (instance) => {
    const t0 = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < runs; i++) ids.push(await submitRun(instance, { file: PIPELINE }));
    const ends = await waitUntil(
      async () => {
        const all = await Promise.all(ids.map((id) => instance.storage.getRunStatus(id)));
        if (all.some((r) => r?.status === 'FAILURE')) throw new Error('a benchmark run failed');
        return all.every((r) => r?.status === 'SUCCESS') && all;
      },
      Math.max(120_000, runs * 2_000),
      `${runs} runs to end`,
      200,
    );
    const wallMs = Math.max(...ends.map((r) => r?.updatedAt ?? 0)) - t0;
    return {
      launcher: setup.launcher,
      runs,
      maxConcurrentRuns: setup.maxConcurrentRuns,
      wallMs,
      runsPerSec: runs / (wallMs / 1_000),
    };
  });
}
