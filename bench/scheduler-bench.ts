/**
 * The scheduler (issue 14): a real `stepwise daemon -f FILE` process with N `* * * * *` schedules on a SQLite
 * instance, for M real minutes. Runs are stored QUEUED (runCoordinator.queued, no run queue in the daemon): this
 * measures the scheduler, not the runs. A tick's lateness is its run's stored createdAt (the real time the run was
 * written) minus its instant; CPU per tick is the daemon's user+system CPU over the window divided by the ticks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Instance, STEPWISE_BIN } from '@stepwise/core';
import { killOnExit, sleep, stopProcess, waitUntil } from '@stepwise/testing';
import { median } from './stats.js';

const SCHEDULES = fileURLToPath(new URL('./scheduler-schedules.ts', import.meta.url));

export interface SchedulerFigures {
  schedules: number;
  minutes: number;
  tickIntervalMs: number;
  ticks: number;
  /** Run createdAt minus scheduledAt over every tick, ms. */
  latenessMs: { median: number; p99: number; max: number };
  withinOneSecond: number;
  /** The daemon's CPU (user + system) over the measured minutes, per tick and in all. */
  cpuMsPerTick: number;
  cpuMs: number;
  /** A pass when nothing is due (between instants): the daemon's CPU per second of idle time. */
  idleCpuMsPerSec: number;
}

/** utime + stime of a process, ms (Linux /proc). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))] as number;

export async function measureScheduler(options: {
  schedules: number;
  minutes: number;
  tickIntervalMs: number;
}): Promise<SchedulerFigures> {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-bench-scheduler-'));
  writeFileSync(
    join(home, 'stepwise.yaml'),
    `runCoordinator: { queued: {} }\nscheduler: { tickIntervalMs: ${options.tickIntervalMs} }\n`,
  );
  const instance = await Instance.local(home);
  const daemon: ChildProcess = spawn(
    process.execPath,
    [STEPWISE_BIN, 'daemon', '-f', SCHEDULES, '--no-run-queue', '--no-monitor'],
    {
      env: {
        ...process.env,
        STEPWISE_HOME: home,
        STEPWISE_LOG_LEVEL: 'warn',
        STEPWISE_BENCH_SCHEDULES: String(options.schedules),
      },
      stdio: 'ignore',
    },
  );
  killOnExit(daemon);
  const pid = daemon.pid as number;
  const count = async () => (await instance.storage.listRuns({ limit: 1_000_000 })).length;
  try {
    // Warm-up: the first instant after the daemon has loaded the file (its first pass looks back 60 s, so it may
    // catch the previous one too). Measured: the next `minutes` instants after that.
    await waitUntil(async () => (await count()) >= options.schedules, 180_000, 'the warm-up instant', 500);
    const warmRuns = await count();
    const minute = 60_000;
    const firstMeasured = Math.ceil((Date.now() + 1_000) / minute) * minute;
    // Idle CPU: a stretch between instants where nothing is due.
    await sleep(Math.max(0, firstMeasured - 25_000 - Date.now()));
    const idle0 = [cpuMsOf(pid), Date.now()] as const;
    await sleep(Math.max(0, firstMeasured - 5_000 - Date.now()));
    const idleCpuMsPerSec = (cpuMsOf(pid) - idle0[0]) / ((Date.now() - idle0[1]) / 1000);
    const cpu0 = cpuMsOf(pid);
    const target = warmRuns + options.schedules * options.minutes;
    await waitUntil(
      async () => (await count()) >= target,
      options.minutes * minute + 120_000,
      `${options.minutes} measured instants`,
      500,
    );
    const cpuMs = cpuMsOf(pid) - cpu0;
    const runs = (await instance.storage.listRuns({ limit: 1_000_000 })).filter(
      (r) => Date.parse(r.tags['stepwise/scheduled-at'] ?? '') >= firstMeasured,
    );
    const lateness = runs
      .map((r) => r.createdAt - Date.parse(r.tags['stepwise/scheduled-at'] ?? ''))
      .sort((a, b) => a - b);
    return {
      schedules: options.schedules,
      minutes: options.minutes,
      tickIntervalMs: options.tickIntervalMs,
      ticks: runs.length,
      latenessMs: { median: median(lateness), p99: percentile(lateness, 0.99), max: lateness.at(-1) ?? 0 },
      withinOneSecond: lateness.filter((l) => l <= 1_000).length / Math.max(1, lateness.length),
      cpuMsPerTick: cpuMs / Math.max(1, runs.length),
      cpuMs,
      idleCpuMsPerSec,
    };
  } finally {
    await stopProcess(daemon, { graceMs: 10_000 });
    await instance.close();
    rmSync(home, { recursive: true, force: true });
  }
}
