/**
 * The executor conformance suite: the same scenarios (retry, skip after an optional output, dynamic fan-out,
 * cancel, failure isolation, resources) on any executor, as vitest tests. Core runs it in-process and on the
 * multiprocess executor, the queue tests on real `stepwise worker` processes; a new executor runs it by calling
 * {@link runExecutorConformance}. Its processes load {@link CONFORMANCE_PIPELINES}.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Executor,
  executePipeline,
  type PipelineDefinition,
  type RunResult,
  type StepwiseEvent,
} from '@stepwise/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  brokenResource,
  cancelable,
  dynamicFanOut,
  isolation,
  optionalOutputs,
  resources,
  retrying,
  unserializable,
} from './conformance-pipelines.js';
import { waitUntil, within } from './wait.js';

/** The file declaring the conformance pipelines (its .ts source under vitest/tsx, its build under node). */
export const CONFORMANCE_PIPELINES = fileURLToPath(
  new URL(`./conformance-pipelines.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);

export interface ExecutorUnderTest {
  /** Starts what the executor needs (e.g. worker processes); runs once before the scenarios. */
  setup?(): Promise<void>;
  /** Stops it; runs once after them. */
  teardown?(): Promise<void>;
  /** How each run picks the executor: an instance, or an `execution` block merged into the run config. */
  executor?(): Executor;
  execution?(): Record<string, unknown>;
  /**
   * Checks the `workerId`s of every run's STEP_START events, so that the scenarios are known to have run where
   * this executor runs steps (e.g. on the worker processes the setup started).
   */
  expectWorkers?(workerIds: string[]): void;
  /** Bound on one run. Default 30 s. */
  runTimeoutMs?: number;
}

interface Run {
  result: RunResult;
  events: StepwiseEvent[];
}

/** Registers the conformance scenarios for `target` under `describe(name)`. */
export function runExecutorConformance(name: string, target: ExecutorUnderTest): void {
  const runTimeoutMs = target.runTimeoutMs ?? 30_000;
  let scratch: string;

  async function run(
    pipeline: PipelineDefinition,
    runConfig: Record<string, unknown> = {},
    signal?: AbortSignal,
  ): Promise<Run> {
    const events: StepwiseEvent[] = [];
    const result = await within(
      executePipeline(pipeline, {
        runConfig: { ...runConfig, ...(target.execution ? { execution: target.execution() } : {}) },
        ...(target.executor ? { executor: target.executor() } : {}),
        signal,
        onEvent: (e) => events.push(e),
      }),
      runTimeoutMs,
      `${pipeline.name} to end on ${name}`,
    );
    const workerIds = events.filter((e) => e.type === 'STEP_START').map((e) => e.workerId ?? '');
    target.expectWorkers?.(workerIds);
    return { result, events };
  }

  const typesOf = (events: StepwiseEvent[], stepKey: string) =>
    events.filter((e) => e.stepKey === stepKey && e.type.startsWith('STEP_')).map((e) => e.type);

  describe(`${name} executor (conformance)`, () => {
    beforeAll(async () => {
      scratch = mkdtempSync(join(tmpdir(), 'stepwise-conformance-'));
      await target.setup?.();
    });

    afterAll(async () => {
      await target.teardown?.();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('retries a failing step and succeeds on its third attempt', async () => {
      const { result, events } = await run(retrying);
      expect(result.status).toBe('SUCCESS');
      expect(result.steps.flaky?.attempts).toBe(3);
      expect(result.output('inc')).toBe(4);
      expect(typesOf(events, 'flaky').filter((t) => t === 'STEP_START')).toHaveLength(3);
      expect(typesOf(events, 'flaky').filter((t) => t === 'STEP_UP_FOR_RETRY')).toHaveLength(2);
    });

    it('fails the step once its retries are spent, and never starts its downstream', async () => {
      const { result, events } = await run(retrying, { ops: { flaky: { config: { succeedOn: 99 } } } });
      expect(result.status).toBe('FAILURE');
      expect(result.steps.flaky?.status).toBe('FAILURE');
      expect(result.steps.flaky?.attempts).toBe(4);
      expect(result.steps.flaky?.error?.message).toBe('flaky fails attempt 4');
      expect(result.steps.inc?.status).toBe('NOT_STARTED');
      expect(events.at(-1)?.type).toBe('RUN_FAILURE');
    });

    it('skips the steps after an optional output that was not produced', async () => {
      const { result, events } = await run(optionalOutputs);
      expect(result.status).toBe('SUCCESS');
      expect(result.output('after_even')).toBe(3);
      expect(result.steps.after_odd?.status).toBe('SKIPPED');
      expect(result.steps.after_odd2?.status).toBe('SKIPPED');
      const skipped = events.filter((e) => e.type === 'STEP_SKIPPED').map((e) => e.stepKey);
      expect(skipped.sort()).toEqual(['after_odd', 'after_odd2']);
    });

    it('fans out over a dynamic output and collects the mapped results in order', async () => {
      const { result } = await run(dynamicFanOut, { ops: { source: { config: { n: 4 } } } });
      expect(result.status).toBe('SUCCESS');
      // Items 0, 10, 20, 30, each + 2.
      expect(result.output('sum')).toBe(68);
      expect(result.steps['twice[k2]']?.mappingKey).toBe('k2');
      expect(
        Object.keys(result.steps)
          .filter((k) => k.startsWith('twice['))
          .sort(),
      ).toEqual(['twice[k0]', 'twice[k1]', 'twice[k2]', 'twice[k3]']);
    });

    it('cancels a running step through its signal and ends CANCELED, downstream never started', async () => {
      const marker = join(scratch, `cancel-${Date.now()}`);
      const controller = new AbortController();
      const pending = run(cancelable, { ops: { wait_for_cancel: { config: { marker } } } }, controller.signal);
      // Bounded: should the step never start, the run is canceled anyway and the assertions fail.
      await waitUntil(() => existsSync(`${marker}.started`), 20_000, 'the step to start').catch(() => {});
      controller.abort(new Error('the test cancels'));
      const { result } = await pending;
      expect(result.status).toBe('CANCELED');
      expect(existsSync(`${marker}.aborted`)).toBe(true);
      expect(result.steps.wait_for_cancel?.status).toBe('CANCELED');
      expect(result.steps.inc?.status).toBe('NOT_STARTED');
    });

    it('a failed step stops its downstream but not an independent branch', async () => {
      const { result } = await run(isolation);
      expect(result.status).toBe('FAILURE');
      expect(result.steps.fail?.status).toBe('FAILURE');
      expect(result.steps.fail?.error?.message).toBe('fails on purpose');
      expect(result.steps.down?.status).toBe('NOT_STARTED');
      expect(result.steps.down2?.status).toBe('NOT_STARTED');
      expect(result.steps.other2?.status).toBe('SUCCESS');
      expect(result.output('other2')).toBe(5);
    });

    it('gives steps their configured resources', async () => {
      const { result } = await run(resources, { resources: { counter: { config: { start: 7 } } } });
      expect(result.status).toBe('SUCCESS');
      expect(result.output('u1')).toBe(7);
      expect(result.output('u2')).toBe(7);
    });

    it('fails the step whose resource cannot be set up, with the setup error', async () => {
      const { result } = await run(brokenResource);
      expect(result.status).toBe('FAILURE');
      expect(result.steps.use_broken?.status).toBe('FAILURE');
      expect(result.steps.use_broken?.error?.message).toMatch(/database is down/);
      expect(result.steps.inc?.status).toBe('NOT_STARTED');
    });

    it('fails the step whose output cannot be serialized, naming the output and the type', async () => {
      const { result, events } = await run(unserializable);
      expect(result.status).toBe('FAILURE');
      expect(result.steps.make_handler?.status).toBe('FAILURE');
      expect(result.steps.make_handler?.error?.message).toBe(
        "output 'handler' of step 'make_handler' holds a function (onEvent) at onEvent, which cannot be serialized to pass between steps; return plain data (objects, arrays, strings, numbers, Date, Map, Set, Buffer) instead",
      );
      expect(typesOf(events, 'make_handler')).toContain('STEP_FAILURE');
      expect(result.steps.use_handler?.status).toBe('NOT_STARTED');
    });
  });
}
