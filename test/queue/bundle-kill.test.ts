// A worker SIGKILLed while it runs bundle jobs: BullMQ re-runs its jobs on the other worker, which skips the
// members whose success is already recorded, so no step has two STEP_SUCCESS in the stored log.
import { executePipeline, Instance, type StepwiseEvent } from '@stepwise/core';
import { deletePrefix, killAllWorkers, uniquePrefix, waitForWorkers, within } from '@stepwise/testing';
import { afterEach, expect, inject, it } from 'vitest';
import { quickFanOut } from '../fixtures/queue-pipelines.js';
import { queueConfig, spawnWorker } from './harness.js';

const redisUrl = inject('redisUrl');
const prefix = uniquePrefix();

afterEach(async () => {
  await killAllWorkers();
  await deletePrefix(redisUrl, prefix);
});

it('a re-run bundle job skips its members that already succeeded: no step succeeds twice', async () => {
  const victim = spawnWorker({ redisUrl, prefix, name: 'victim', concurrency: 2, lockDurationMs: 1_000 });
  spawnWorker({ redisUrl, prefix, name: 'survivor', concurrency: 2, lockDurationMs: 1_000 });
  await waitForWorkers(redisUrl, prefix, ['victim', 'survivor']);
  const instance = Instance.ephemeral();
  let killAt: NodeJS.Timeout | undefined;
  const result = await within(
    executePipeline(quickFanOut, {
      instance,
      runConfig: queueConfig(redisUrl, prefix, { lockDurationMs: 1_000 }),
      onEvent: (e: StepwiseEvent) => {
        if (e.type === 'RUN_START') killAt = setTimeout(() => victim.proc.kill('SIGKILL'), 2_500);
      },
    }),
    120_000,
    'the 3,000-step run with a worker killed',
  ).finally(() => clearTimeout(killAt));
  expect(result.status).toBe('SUCCESS');
  expect(victim.proc.signalCode).toBe('SIGKILL');
  const events = await instance.storage.getEvents(result.runId);
  const successes = new Map<string, number[]>();
  for (const e of events) {
    if (e.type !== 'STEP_SUCCESS' || e.stepKey === undefined) continue;
    successes.set(e.stepKey, [...(successes.get(e.stepKey) ?? []), e.attempt ?? 0]);
  }
  expect(successes.size).toBe(3_000);
  const twice = [...successes].filter(([, attempts]) => attempts.length > 1);
  expect(twice).toEqual([]);
}, 150_000);
