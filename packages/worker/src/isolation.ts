import { ConfigError, type StepTask } from '@stepwise/core';

/** Where a worker runs a step's code. */
export type Isolation = 'none' | 'thread' | 'process';

export const ISOLATIONS: readonly Isolation[] = ['none', 'thread', 'process'];

/** The op tag that asks for an isolation whatever the worker's default: `tags: { isolation: 'process' }`. */
export const ISOLATION_TAG = 'isolation';

/** The default of `stepwise worker --isolation` (docs/workers.md says why, from bench/RESULTS.md). */
export const DEFAULT_ISOLATION: Isolation = 'none';

export function isIsolation(value: unknown): value is Isolation {
  return typeof value === 'string' && (ISOLATIONS as readonly string[]).includes(value);
}

/** The isolation a step asks for with its `isolation` tag, else the worker's. A bad tag is a ConfigError. */
export function isolationOf(task: StepTask, workerDefault: Isolation): Isolation {
  const tag = task.tags[ISOLATION_TAG];
  if (tag === undefined) return workerDefault;
  if (isIsolation(tag)) return tag;
  throw new ConfigError(`the tags of step '${task.key}'`, [
    { path: `tags.${ISOLATION_TAG}`, message: `must be one of ${ISOLATIONS.join(', ')}, got '${tag}'` },
  ]);
}
