/**
 * `stepwise worker` processes for tests, the bench and the soak: one way to spawn them, read their output, wait
 * for them to register, and stop them, so that none outlives the test or script that started it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { listWorkers, RedisKeys, type WorkerInfo } from '@stepwise/executor-queue';
import { Redis } from 'ioredis';
import { exitCode, isRunning, killOnExit, stopProcess } from './child-process.js';
import { waitUntil, within } from './wait.js';

/** The `stepwise` CLI of the installed @stepwise/core (its bin sits next to its dist). */
export const STEPWISE_CLI = join(
  dirname(createRequire(import.meta.url).resolve('@stepwise/core')),
  '../bin/stepwise.js',
);

export interface WorkerOptions {
  /** The pipeline file the worker loads (`-f`). */
  file: string;
  redisUrl: string;
  prefix: string;
  /** The worker id (`--name`), as `stepwise workers` and STEP_START events show it. */
  name: string;
  /** Queues to serve. Default: the worker's own (`default`). */
  queues?: string[];
  /** Default 2. */
  concurrency?: number;
  /**
   * Default 1 s, so a killed worker's steps come back within about a second (the worker's own default is 30 s:
   * pass it for figures that should match a production setup).
   */
  lockDurationMs?: number;
  /** More CLI arguments, after the others. */
  extraArgs?: string[];
  /** Node flags before the CLI, e.g. `--cpu-prof` (which Node 20 refuses in NODE_OPTIONS). */
  nodeArgs?: string[];
  /** More environment. */
  env?: Record<string, string>;
  /** STEPWISE_LOG_LEVEL. Default `info` (the test helpers read 'worker started' and the like from it). */
  logLevel?: string;
  /** Also write the worker's output to this file. */
  logFile?: string;
  /** Keep only the last this many characters of output in memory. Default: all of it. */
  keepChars?: number;
  cwd?: string;
  /**
   * A command the worker runs under, given the node command line after its own arguments (e.g. `unshare -m` with a
   * private mount, for a worker that must not share this machine's files); it must exec the rest in place.
   */
  wrap?: string[];
}

export interface WorkerProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  /** The output kept so far (stdout and stderr interleaved). */
  output(): string;
  /** It has logged 'worker started'. */
  readonly ready: boolean;
  /** Resolves with the exit code (or signal name) within `timeoutMs` (default 15 s), else rejects. */
  exited(timeoutMs?: number): Promise<number | string>;
  /** SIGTERM (the worker drains and exits 0), SIGKILL after `graceMs` (default 15 s). */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();

export function spawnWorker(options: WorkerOptions): WorkerProcess {
  const args = [...(options.nodeArgs ?? []), STEPWISE_CLI, 'worker', '-f', options.file];
  args.push('--redis', options.redisUrl, '--prefix', options.prefix, '--name', options.name);
  args.push('--concurrency', String(options.concurrency ?? 2));
  args.push('--lock-duration', String(options.lockDurationMs ?? 1_000));
  for (const queue of options.queues ?? []) args.push('--queue', queue);
  args.push(...(options.extraArgs ?? []));
  const [command, ...prefix] = options.wrap ?? [process.execPath];
  const proc = spawn(command as string, options.wrap ? [...prefix, process.execPath, ...args] : args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STEPWISE_LOG_LEVEL: options.logLevel ?? 'info', ...options.env },
  });
  live.add(proc);
  killOnExit(proc);
  proc.once('exit', () => live.delete(proc));
  const file = options.logFile ? createWriteStream(options.logFile) : undefined;
  if (file) proc.once('exit', () => file.end());
  let out = '';
  let ready = false;
  const onData = (chunk: Buffer) => {
    file?.write(chunk);
    out += chunk.toString();
    if (options.keepChars !== undefined && out.length > options.keepChars) out = out.slice(-options.keepChars);
    if (!ready && out.includes('worker started')) ready = true;
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  return {
    name: options.name,
    proc,
    output: () => out,
    get ready() {
      return ready;
    },
    exited: (timeoutMs = 15_000) => exitCode(proc, timeoutMs, `worker ${options.name} to exit`),
    stop: (graceMs = 15_000) => stopProcess(proc, { graceMs }),
  };
}

/** SIGKILLs every worker still running and waits for them to exit; call in afterEach. */
export async function killAllWorkers(): Promise<void> {
  const running = [...live].filter(isRunning);
  await within(Promise.all(running.map((proc) => stopProcess(proc, { ask: 'SIGKILL' }))), 10_000, 'workers to die');
}

/**
 * Waits until every named worker has announced itself in the worker registry under `prefix`. With `spawned`,
 * fails at once (with its output) when one of those processes exits meanwhile.
 */
export async function waitForWorkers(
  redisUrl: string,
  prefix: string,
  names: string[],
  timeoutMs = 20_000,
  spawned: readonly WorkerProcess[] = [],
): Promise<WorkerInfo[]> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    return await waitUntil(
      async () => {
        const dead = spawned.find((w) => !isRunning(w.proc));
        if (dead) {
          const how = dead.proc.exitCode ?? dead.proc.signalCode;
          throw new Error(`worker ${dead.name} exited (${how}) before it registered:\n${dead.output().slice(-2_000)}`);
        }
        const workers = await listWorkers(redis, new RedisKeys(prefix));
        return names.every((n) => workers.some((w) => w.name === n)) ? workers : undefined;
      },
      timeoutMs,
      `workers ${names.join(', ')} to start`,
    );
  } finally {
    redis.disconnect();
  }
}
