/**
 * One-command local demo: starts its own redis-server (or uses $REDIS_URL), two workers on different queues,
 * runs the pipeline through the queue executor, prints which worker ran each step, and stops everything.
 *
 *   npx tsx examples/distributed/demo.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executePipeline } from '@stepwise/core';
import { distributed } from './pipeline.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '../../packages/core/bin/stepwise.js');
const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

async function startRedis(): Promise<string> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  const port = await freePort();
  const redis = spawn('redis-server', [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  children.push(redis);
  await new Promise<void>((ok, fail) => {
    redis.on('error', (e) => fail(new Error(`cannot start redis-server (${e.message}); install it or set REDIS_URL`)));
    redis.stdout?.on('data', (d: Buffer) => d.toString().includes('Ready to accept connections') && ok());
  });
  return `redis://127.0.0.1:${port}`;
}

function startWorker(redisUrl: string, name: string, queues: string[]): void {
  const args = [
    cli,
    'worker',
    '-f',
    resolve(here, 'pipeline.ts'),
    '--redis',
    redisUrl,
    '--name',
    name,
    '--concurrency',
    '4',
  ];
  for (const q of queues) args.push('--queue', q);
  children.push(spawn(process.execPath, args, { stdio: 'ignore' }));
}

try {
  const redisUrl = await startRedis();
  startWorker(redisUrl, 'io-worker', ['io', 'default']);
  startWorker(redisUrl, 'heavy-worker', ['heavy']);
  const result = await executePipeline(distributed, {
    runConfig: { execution: { queue: { redisUrl } } },
    onEvent: (e) => {
      if (e.type === 'STEP_SUCCESS') console.log(`${e.stepKey?.padEnd(22)} ran on ${e.workerId}`);
    },
  });
  console.log(`run ${result.runId}: ${result.status}, combine = ${String(result.output('combine'))}`);
  process.exitCode = result.success ? 0 : 1;
} finally {
  for (const c of children.reverse()) c.kill('SIGTERM');
}
