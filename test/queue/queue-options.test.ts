import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  type ConfigIssue,
  executorFromConfig,
  op,
  parseInstanceConfig,
  pipeline,
  registerPlugin,
  validateRunConfig,
} from '@stepwise/core';
import { plugin, QueueExecutor } from '@stepwise/executor-queue';
import { afterAll, describe, expect, it } from 'vitest';

const noop = op({ name: 'noop', compute: () => undefined });
const one = pipeline({ name: 'one', build: () => noop() });
const home = mkdtempSync(join(tmpdir(), 'stepwise-queue-options-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function issues(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
}

/** The queue options as a run config's `execution.queue` and as stepwise.yaml's `execution.queue`. */
const fromRunConfig = (queue: unknown) => issues(() => validateRunConfig(one, { execution: { queue } }));
const fromInstanceConfig = (queue: unknown) => issues(() => parseInstanceConfig({ execution: { queue } }, { home }));

describe('queue executor options', () => {
  registerPlugin(plugin);

  it('validate identically from a run config and from stepwise.yaml (one schema, the plugin’s)', () => {
    const samples: unknown[] = [
      {},
      null,
      { queueTimeoutMs: 0 },
      { queueTimeoutMs: -1 },
      { lockDurationMs: 0 },
      { lockDurationMs: '30s' },
      { maxStepsInFlight: 1.5 },
      { noWorkerGraceMs: 0, watchIntervalMs: 250 },
      { redisUrl: '' },
      { prefix: 'p', defaultQueue: 'io', lockDurationMs: 1_000 },
      { lockDuration: 1_000 },
      'fast',
    ];
    for (const sample of samples) {
      expect(fromInstanceConfig(sample), JSON.stringify(sample)).toEqual(fromRunConfig(sample));
    }
    // The drift this replaced: 0 (wait forever) was accepted in a run config and rejected in stepwise.yaml.
    expect(fromRunConfig({ queueTimeoutMs: 0 })).toEqual([]);
    expect(fromRunConfig({ lockDurationMs: '30s', lockDuration: 1 })).toEqual([
      { path: 'execution.queue.lockDurationMs', message: 'expected number, got string' },
      { path: 'execution.queue.lockDuration', message: 'unknown key' },
    ]);
  });

  it('merge the plugin defaults, then stepwise.yaml, then the run config', async () => {
    const executor = await executorFromConfig(
      { queue: { lockDurationMs: 2_000 } },
      { queue: { lockDurationMs: 9_000, defaultQueue: 'io', queueTimeoutMs: 0 } },
    );
    expect(executor).toBeInstanceOf(QueueExecutor);
    expect((executor as QueueExecutor).options).toMatchObject({
      lockDurationMs: 2_000,
      defaultQueue: 'io',
      queueTimeoutMs: 0,
      watchIntervalMs: 1_000,
      prefix: 'stepwise',
    });
    await executor.dispose?.();
  });
});
