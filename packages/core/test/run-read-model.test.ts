import {
  COORDINATOR_HEARTBEAT_TIMEOUT_MS,
  cancelRun,
  executePipeline,
  Instance,
  isOrphaned,
  NotFoundError,
  op,
  pipeline,
  readRunSteps,
  requireRun,
  runDetailJson,
  runJson,
} from '@stepwise/core';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const one = op({ name: 'one', out: z.number(), compute: () => 1 });
const broken = op({
  name: 'broken',
  ins: { x: z.number() },
  out: z.number(),
  compute: () => {
    throw new Error('broken on purpose');
  },
});
const after = op({ name: 'after', ins: { x: z.number() }, out: z.number(), compute: (_ctx, { x }) => x });
const failing = pipeline({
  name: 'failing',
  build: () => {
    after({ x: broken({ x: one() }) });
  },
});

const instance = Instance.ephemeral();
afterAll(() => instance.close());

describe('the run read model', () => {
  it('summarises a stored run as the run that made it did: one step summary for both', async () => {
    const result = await executePipeline(failing, { instance });
    expect(result.status).toBe('FAILURE');
    const run = await requireRun(instance, result.runId);
    const stored = await readRunSteps(instance, run);
    expect(stored.outcome).toBe('FAILURE');
    expect(stored.reused).toEqual([]);
    expect(stored.steps).toEqual(Object.values(result.steps));
    expect(stored.steps.map((s) => [s.key, s.status])).toEqual([
      ['one', 'SUCCESS'],
      ['broken', 'FAILURE'],
      ['after', 'NOT_STARTED'],
    ]);

    const json = runDetailJson(run, stored);
    expect(json).toMatchObject({ runId: run.runId, pipeline: 'failing', status: 'FAILURE', finished: true });
    expect(json.steps[1]).toMatchObject({ key: 'broken', status: 'FAILURE', attempts: 1, reused: false });
    expect(json.steps[1]?.error).toContain('broken on purpose');
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('calls a running run orphaned once its heartbeat is older than the timeout, by the clock given', async () => {
    const result = await executePipeline(failing, { instance });
    const run = { ...(await requireRun(instance, result.runId)), status: 'STARTED' as const };
    expect(isOrphaned(run, run.updatedAt + COORDINATOR_HEARTBEAT_TIMEOUT_MS)).toBe(false);
    expect(isOrphaned(run, run.updatedAt + COORDINATOR_HEARTBEAT_TIMEOUT_MS + 1)).toBe(true);
    expect(runJson(run, run.updatedAt + COORDINATOR_HEARTBEAT_TIMEOUT_MS + 1).orphaned).toBe(true);
    expect(isOrphaned({ ...run, status: 'SUCCESS' }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('refuses an unknown run with the command that lists runs', async () => {
    await expect(requireRun(instance, 'no-such-run')).rejects.toThrow(NotFoundError);
    await expect(cancelRun(instance, 'no-such-run')).rejects.toThrow(/'no-such-run' not found .*runs list/);
  });
});

describe('cancelRun', () => {
  it('leaves an ended run alone, records the end of a queued or forced one, and asks a running one', async () => {
    const ended = await executePipeline(failing, { instance });
    expect(await cancelRun(instance, ended.runId)).toEqual({ action: 'ended', status: 'FAILURE' });

    const base = await requireRun(instance, ended.runId);
    const record = (runId: string, status: 'QUEUED' | 'STARTED') =>
      instance.storage.createRun({ ...base, runId, status, endedAt: undefined, startedAt: 1_000 });
    await record('queued-run', 'QUEUED');
    expect(await cancelRun(instance, 'queued-run', { now: () => 5_000 })).toEqual({
      action: 'canceled',
      status: 'CANCELED',
    });
    const canceled = await requireRun(instance, 'queued-run');
    expect(canceled).toMatchObject({ status: 'CANCELED', endedAt: 5_000 });
    const [end] = await instance.storage.getEvents('queued-run', { types: ['RUN_CANCELED'] });
    expect(end?.data).toEqual({ durationMs: 4_000, reason: 'canceled before it started' });

    await record('running-run', 'STARTED');
    expect(await cancelRun(instance, 'running-run')).toEqual({ action: 'requested', status: 'CANCELING' });
    expect((await requireRun(instance, 'running-run')).status).toBe('CANCELING');
    expect(await cancelRun(instance, 'running-run', { force: true })).toEqual({
      action: 'canceled',
      status: 'CANCELED',
    });
  });
});
