import {
  executePipeline,
  executeStoredStep,
  Instance,
  op,
  pipeline,
  pipelineToRun,
  StepRefusedError,
  StepwiseError,
} from '@stepwise/core';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const one = op({ name: 'one', out: z.number(), compute: () => 1 });
const v1 = pipeline({ name: 'refusal', version: '1', build: () => void one() });
const v2 = pipeline({ name: 'refusal', version: '2', build: () => void one() });
const pipelines = new Map([[v1.name, v1]]);
const check = (run: { pipeline?: string; fingerprint?: string; canceled?: boolean }) => () =>
  pipelineToRun({
    run: { runId: 'r1', pipeline: 'refusal', fingerprint: v1.fingerprint, ...run },
    pipelines,
    source: 'pipelines.ts',
    runner: 'worker w1',
  });

const instance = Instance.ephemeral();
afterAll(() => instance.close());

describe('pipelineToRun', () => {
  it('returns the pipeline when the run is of it, planned with the same code, and not canceled', () => {
    expect(check({})()).toBe(v1);
  });

  it('refuses a canceled run, an unknown pipeline and other code, each with its code and the fix', () => {
    const refusal = (run: Parameters<typeof check>[0]) => {
      try {
        check(run)();
      } catch (error) {
        expect(error).toBeInstanceOf(StepRefusedError);
        expect(StepwiseError.is(error)).toBe(true);
        return error as StepRefusedError;
      }
      throw new Error('not refused');
    };
    expect(refusal({ canceled: true }).code).toBe('RUN_CANCELED');
    const unknown = refusal({ pipeline: 'other' });
    expect(unknown.code).toBe('PIPELINE_NOT_FOUND');
    expect(unknown.message).toContain("worker w1 has no pipeline 'other' in pipelines.ts (it has refusal)");
    const skew = refusal({ fingerprint: v2.fingerprint });
    expect(skew.code).toBe('VERSION_SKEW');
    expect(skew.message).toContain(`the run was planned with ${v2.fingerprint}`);
  });
});

describe('executeStoredStep refuses like every other runner', () => {
  it('a step of other code, and a step of a canceled run', async () => {
    const run = await executePipeline(v1, { instance });
    await expect(executeStoredStep(instance, run.runId, 'one', v2)).rejects.toMatchObject({ code: 'VERSION_SKEW' });
    const again = await executeStoredStep(instance, run.runId, 'one', v2, { allowChangedCode: true });
    expect(again).toMatchObject({ status: 'SUCCESS', attempt: 2 });
    await instance.storage.updateRun(run.runId, { status: 'CANCELED' });
    await expect(executeStoredStep(instance, run.runId, 'one', v1)).rejects.toMatchObject({ code: 'RUN_CANCELED' });
  });
});
