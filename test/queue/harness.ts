import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listWorkers, RedisKeys, type WorkerInfo } from '@stepwise/executor-queue';
import { Redis } from 'ioredis';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = resolve(ROOT, 'packages/core/bin/stepwise.js');
export const FIXTURE = resolve(ROOT, 'test/fixtures/queue-pipelines.ts');

/** A Redis key prefix of its own per test (hash-tagged, so it stays Redis-Cluster-safe). */
export function uniquePrefix(): string {
  return `{t-${randomUUID().slice(0, 8)}}`;
}

export interface SpawnedWorker {
  name: string;
  proc: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal name) within `timeoutMs`, else rejects. */
  exited: (timeoutMs?: number) => Promise<number | string>;
}

const spawned = new Set<ChildProcess>();

export function spawnWorker(options: {
  redisUrl: string;
  prefix: string;
  name: string;
  queues?: string[];
  concurrency?: number;
  lockDurationMs?: number;
  extraArgs?: string[];
  file?: string;
}): SpawnedWorker {
  const args = [
    CLI,
    'worker',
    '-f',
    options.file ?? FIXTURE,
    '--redis',
    options.redisUrl,
    '--prefix',
    options.prefix,
    '--name',
    options.name,
    '--concurrency',
    String(options.concurrency ?? 2),
    '--lock-duration',
    String(options.lockDurationMs ?? 1_000),
    ...(options.queues ?? ['default']).flatMap((q) => ['--queue', q]),
    ...(options.extraArgs ?? []),
  ];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STEPWISE_LOG_LEVEL: 'info' },
  });
  spawned.add(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exit = new Promise<number | string>((resolveExit) => {
    proc.once('exit', (code, signal) => {
      spawned.delete(proc);
      resolveExit(code ?? signal ?? -1);
    });
  });
  return {
    name: options.name,
    proc,
    output: () => out,
    exited: (timeoutMs = 15_000) => within(exit, timeoutMs, `worker ${options.name} to exit`),
  };
}

/** SIGKILLs every worker still running; call in afterEach. */
export async function killAllWorkers(): Promise<void> {
  const waits = [...spawned].map(
    (p) =>
      new Promise<void>((r) => {
        if (p.exitCode !== null || p.signalCode !== null) return r();
        p.once('exit', () => r());
        p.kill('SIGKILL');
      }),
  );
  await within(Promise.all(waits), 10_000, 'workers to die');
}

export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until every named worker has announced itself. */
export async function waitForWorkers(
  redisUrl: string,
  prefix: string,
  names: string[],
  timeoutMs = 20_000,
): Promise<WorkerInfo[]> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    return await waitUntil(
      async () => {
        const live = await listWorkers(redis, new RedisKeys(prefix));
        return names.every((n) => live.some((w) => w.name === n)) ? live : undefined;
      },
      timeoutMs,
      `workers ${names.join(', ')} to start`,
    );
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under a test's prefix. */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export function queueConfig(redisUrl: string, prefix: string, extra: Record<string, unknown> = {}) {
  return { execution: { queue: { redisUrl, prefix, lockDurationMs: 1_000, ...extra } } };
}
