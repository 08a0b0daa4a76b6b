// What the queue tests share beyond @stepwise/testing: their fixture pipelines file and a queue run config.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnWorker as spawnStepwiseWorker, type WorkerOptions, type WorkerProcess } from '@stepwise/testing';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = resolve(ROOT, 'packages/core/bin/stepwise.js');
export const FIXTURE = resolve(ROOT, 'test/fixtures/queue-pipelines.ts');

/** A `stepwise worker` serving the queue fixtures (test/fixtures/queue-pipelines.ts unless `file` is given). */
export function spawnWorker(options: Omit<WorkerOptions, 'file'> & { file?: string }): WorkerProcess {
  return spawnStepwiseWorker({ file: FIXTURE, ...options });
}

export function queueConfig(redisUrl: string, prefix: string, extra: Record<string, unknown> = {}) {
  return { execution: { queue: { redisUrl, prefix, lockDurationMs: 1_000, ...extra } } };
}
