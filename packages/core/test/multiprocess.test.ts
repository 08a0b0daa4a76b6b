import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  executePipeline,
  executorFromConfig,
  InProcessExecutor,
  Instance,
  LoadError,
  MemoryComputeLogManager,
  MemoryIOManager,
  MemoryRunStorage,
  MultiprocessExecutor,
  type PipelineDefinition,
  type RunResult,
  type StepwiseEvent,
} from '@stepwise/core';
import { afterAll, describe, expect, it } from 'vitest';
import { cancel, cpu, crash, flakyExit, logs, parallel, shapes } from './fixtures/multiprocess/pipelines.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/multiprocess/', import.meta.url));
const FILE = join(FIXTURES, 'pipelines.js');
const TIMEOUT = 40_000;

const scratch = mkdtempSync(join(tmpdir(), 'stepwise-mp-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Pids of the step processes that emitted events (workerId is `host/pid`). */
function workerPids(events: StepwiseEvent[]): Set<number> {
  const pids = new Set<number>();
  for (const e of events) {
    const pid = Number(e.workerId?.split('/').at(-1));
    if (Number.isInteger(pid) && pid > 0) pids.add(pid);
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function expectAllDead(pids: Iterable<number>): void {
  for (const pid of pids) expect(isAlive(pid), `step process ${pid} is still alive`).toBe(false);
}

async function runMultiprocess(
  pipeline: PipelineDefinition,
  options: {
    runConfig?: unknown;
    executor?: MultiprocessExecutor;
    signal?: AbortSignal;
    onEvent?: (e: StepwiseEvent) => void;
    instance?: Instance;
  } = {},
): Promise<{ result: RunResult; events: StepwiseEvent[] }> {
  const events: StepwiseEvent[] = [];
  const result = await executePipeline(pipeline, {
    runConfig: options.runConfig,
    executor: options.executor ?? new MultiprocessExecutor({ maxConcurrent: 2, file: FILE }),
    signal: options.signal,
    instance: options.instance,
    onEvent: (e) => {
      events.push(e);
      options.onEvent?.(e);
    },
  });
  return { result, events };
}

describe('MultiprocessExecutor', () => {
  it(
    'runs a diamond, a dynamic fan-out and a fan-in with the same outputs as in-process',
    async () => {
      const runConfig = { ops: { source: { config: { value: 5 } } } };
      const local = await executePipeline(shapes, { runConfig, executor: new InProcessExecutor() });
      const { result, events } = await runMultiprocess(shapes, { runConfig });
      expect(local.status).toBe('SUCCESS');
      expect(result.status).toBe('SUCCESS');
      expect(Object.keys(result.steps).sort()).toEqual(Object.keys(local.steps).sort());
      for (const key of Object.keys(local.steps)) {
        expect(result.steps[key]?.status, key).toBe('SUCCESS');
      }
      // 5 -> left 6, right 6 -> add 12 -> items 12, 24, 36 -> +2 each -> 78.
      expect(result.output('add')).toBe(12);
      expect(result.output('sum')).toBe(78);
      expect(result.output('fan_in')).toBe(17);
      for (const key of ['add', 'sum', 'fan_in', 'twice[a]', 'twice[b]', 'twice[c]']) {
        expect(result.output(key), key).toEqual(local.output(key));
      }
      // Outputs cross the process boundary by structured clone: a Date stays a Date, a Map a Map.
      expect(result.output('stamp', 'at')).toEqual(new Date(12_000));
      expect(result.output('stamp', 'index')).toEqual(new Map([['n', 12]]));
      const pids = workerPids(events);
      expect(pids.size).toBeGreaterThan(0);
      expect(pids.has(process.pid)).toBe(false);
      expectAllDead(pids);
    },
    TIMEOUT,
  );

  it(
    'runs steps in other processes, in parallel, and leaves no process behind',
    async () => {
      const { result, events } = await runMultiprocess(parallel);
      expect(result.status).toBe('SUCCESS');
      const pids = ['p1', 'p2', 'p3', 'p4'].map((k) => result.output(k) as number);
      for (const pid of pids) {
        expect(Number.isInteger(pid)).toBe(true);
        expect(pid).not.toBe(process.pid);
      }
      // maxConcurrent 2: two processes, each reused for a second step.
      expect(new Set(pids).size).toBe(2);
      expect(workerPids(events)).toEqual(new Set(pids));
      for (const key of ['p1', 'p2', 'p3', 'p4']) {
        expect(result.steps[key]?.workerId?.endsWith(`/${result.output(key)}`)).toBe(true);
      }
      // Two steps were running at the same moment.
      const spans = ['p1', 'p2', 'p3', 'p4'].map((k) => {
        const at = (type: string) => events.find((e) => e.stepKey === k && e.type === type)?.timestamp ?? Number.NaN;
        return [at('STEP_START'), at('STEP_SUCCESS')] as const;
      });
      const overlap = spans.some(([s1, e1], i) => spans.some(([s2, e2], j) => i !== j && s1 < e2 && s2 < e1));
      expect(overlap).toBe(true);
      expectAllDead(pids);
    },
    TIMEOUT,
  );

  it(
    'turns a step process killed by SIGKILL into a STEP_FAILURE naming the signal; other steps still succeed',
    async () => {
      const { result, events } = await runMultiprocess(crash);
      expect(result.status).toBe('FAILURE');
      expect(result.steps.boom?.status).toBe('FAILURE');
      expect(result.steps.fine?.status).toBe('SUCCESS');
      expect(result.steps.after_fine?.status).toBe('SUCCESS');
      expect(result.output('after_fine')).toBe(43);
      expect(result.steps.after_boom?.status).toBe('NOT_STARTED');
      const error = result.steps.boom?.error;
      expect(error?.code).toBe('STEP_PROCESS_EXITED');
      expect(error?.message).toMatch(/^step process \d+ exited with signal SIGKILL while running step 'boom'$/);
      // The crash report carries what the process printed last.
      expect(error?.stack).toContain('boom is about to kill its own process');
      const failure = events.find((e) => e.type === 'STEP_FAILURE' && e.stepKey === 'boom');
      expect(failure?.attempt).toBe(1);
      expect(events.at(-1)?.type).toBe('RUN_FAILURE');
      expectAllDead(workerPids(events));
    },
    TIMEOUT,
  );

  it(
    'retries a step whose process exited, per its retry policy, in a fresh process',
    async () => {
      const counter = join(scratch, 'flaky-counter');
      const { result, events } = await runMultiprocess(flakyExit, {
        runConfig: { ops: { flaky: { config: { counter } } } },
      });
      expect(result.status).toBe('SUCCESS');
      expect(result.steps.flaky?.attempts).toBe(2);
      // Attempt 2, second call of the counter.
      expect(result.output('flaky')).toBe(202);
      expect(readFileSync(counter, 'utf8')).toBe('2');
      const retry = events.find((e) => e.type === 'STEP_UP_FOR_RETRY');
      expect(retry?.attempt).toBe(1);
      expect(retry?.type === 'STEP_UP_FOR_RETRY' && retry.data.nextAttempt).toBe(2);
      expect(retry?.message).toMatch(/exited with code 3 while running step 'flaky'/);
      const starts = events.filter((e) => e.type === 'STEP_START');
      expect(starts.map((e) => e.attempt)).toEqual([1, 2]);
      expect(starts[0]?.workerId).not.toBe(starts[1]?.workerId);
      expectAllDead(workerPids(events));
    },
    TIMEOUT,
  );

  it(
    'keeps the coordinator responsive while a step burns CPU',
    async () => {
      const ticks: number[] = [];
      let spinning = false;
      const timer = setInterval(() => {
        if (spinning) ticks.push(Date.now());
      }, 20);
      try {
        const { result } = await runMultiprocess(cpu, {
          runConfig: { ops: { spin: { config: { ms: 1_500 } } } },
          onEvent: (e) => {
            if (e.stepKey === 'spin' && e.type === 'STEP_START') spinning = true;
            if (e.stepKey === 'spin' && (e.type === 'STEP_SUCCESS' || e.type === 'STEP_FAILURE')) spinning = false;
          },
        });
        expect(result.status).toBe('SUCCESS');
        expect(result.output('spin')).toBeGreaterThan(0);
      } finally {
        clearInterval(timer);
      }
      // In-process, the 1.5 s busy loop would stop the timer for 1.5 s; here it keeps firing all along
      // (bounds loose enough for a loaded 2-core machine).
      expect(ticks.length).toBeGreaterThan(10);
      const gaps = ticks.slice(1).map((t, i) => t - (ticks[i] as number));
      expect(Math.max(...gaps)).toBeLessThan(1_000);
    },
    TIMEOUT,
  );

  it(
    'cancellation aborts running child steps through ctx.signal, kills a step that ignores it, and ends CANCELED',
    async () => {
      const marker = join(scratch, 'abort-marker');
      const controller = new AbortController();
      const waiting = new Set<string>();
      const started = Date.now();
      // Should the LOG events never come, cancel anyway so that the test fails on its assertions, not its timeout.
      const fallback = setTimeout(() => controller.abort(new Error('fallback cancel')), 15_000);
      const { result, events } = await runMultiprocess(cancel, {
        executor: new MultiprocessExecutor({ maxConcurrent: 2, file: FILE, abortGraceMs: 500 }),
        runConfig: { ops: { wait_for_abort: { config: { marker } } } },
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'LOG' && e.stepKey) waiting.add(e.stepKey);
          if (waiting.size === 2 && !controller.signal.aborted) controller.abort(new Error('test cancels'));
        },
      });
      clearTimeout(fallback);
      expect(controller.signal.reason).toEqual(new Error('test cancels'));
      expect(result.status).toBe('CANCELED');
      expect(result.steps.wait_for_abort?.status).toBe('CANCELED');
      expect(result.steps.stubborn?.status).toBe('CANCELED');
      // The cooperative step saw ctx.signal fire with the reason, in its own process.
      expect(existsSync(marker)).toBe(true);
      expect(readFileSync(marker, 'utf8')).toContain('test cancels');
      const killed = events.find((e) => e.type === 'STEP_FAILURE' && e.stepKey === 'stubborn');
      expect(killed?.message).toMatch(/did not stop within 500 ms, so its process \d+ was killed with signal SIGKILL/);
      expect(events.at(-1)?.type).toBe('RUN_CANCELED');
      // The stubborn step would spin for 60 s.
      expect(Date.now() - started).toBeLessThan(15_000);
      expectAllDead(workerPids(events));
    },
    TIMEOUT,
  );

  it(
    "captures a step process's stdout, stderr and ctx.log lines into the step's compute log",
    async () => {
      const computeLogs = new MemoryComputeLogManager();
      const instance = new Instance({ storage: new MemoryRunStorage(), io: new MemoryIOManager(), computeLogs });
      const { result, events } = await runMultiprocess(logs, { instance });
      expect(result.status).toBe('SUCCESS');
      expect(await computeLogs.read(result.runId, 'chatty', 'stdout')).toContain('hello on stdout');
      const stderr = await computeLogs.read(result.runId, 'chatty', 'stderr');
      expect(stderr).toContain('hello on stderr');
      expect(stderr).toContain('a structured line');
      const log = events.find((e) => e.type === 'LOG');
      expect(log?.type === 'LOG' && log.data.msg).toBe('a structured line');
      expect(log?.type === 'LOG' && log.data.fields).toMatchObject({ n: 1 });
      // Stored through the instance's IO manager by the parent on the child's behalf.
      expect(await instance.io.load({ runId: result.runId, step: 'chatty', output: 'result' })).toBe(1);
    },
    TIMEOUT,
  );

  it(
    'fails every step with a version-skew error when the step processes load other code',
    async () => {
      const { result, events } = await runMultiprocess(parallel, {
        executor: new MultiprocessExecutor({ maxConcurrent: 2, file: join(FIXTURES, 'skew.js') }),
      });
      expect(result.status).toBe('FAILURE');
      for (const key of ['p1', 'p2', 'p3', 'p4']) {
        expect(result.steps[key]?.status, key).toBe('FAILURE');
        expect(result.steps[key]?.error?.code).toBe('VERSION_SKEW');
      }
      expect(result.steps.p1?.error?.message).toContain(`the run was planned with ${parallel.fingerprint}`);
      expectAllDead(workerPids(events));
    },
    TIMEOUT,
  );

  it('needs the file that declares the pipeline', async () => {
    const anonymous: PipelineDefinition = { ...shapes, sourceFile: undefined };
    const run = executePipeline(anonymous, { executor: new MultiprocessExecutor({ maxConcurrent: 1 }) });
    await expect(run).rejects.toBeInstanceOf(LoadError);
    await expect(run).rejects.toThrow("the multiprocess executor needs the file that declares pipeline 'mp_shapes'");
    const missing = executePipeline(shapes, {
      executor: new MultiprocessExecutor({ maxConcurrent: 1, file: join(FIXTURES, 'nope.js') }),
    });
    await expect(missing).rejects.toThrow(/nope\.js does not exist/);
  });

  it(
    "is selected by the run config's execution.multiprocess and loads the pipeline's sourceFile",
    async () => {
      const executor = await executorFromConfig({ multiprocess: { maxConcurrent: 3 } });
      expect(executor).toBeInstanceOf(MultiprocessExecutor);
      expect(executor.kind).toBe('multiprocess');
      expect(executor.maxConcurrent).toBe(3);
      const declared: PipelineDefinition = { ...parallel, sourceFile: FILE };
      const result = await executePipeline(declared, {
        runConfig: { execution: { multiprocess: { maxConcurrent: 4 } } },
      });
      expect(result.status).toBe('SUCCESS');
      const pids = ['p1', 'p2', 'p3', 'p4'].map((k) => result.output(k) as number);
      expect(new Set(pids).size).toBe(4);
      expect(pids).not.toContain(process.pid);
      expectAllDead(pids);
    },
    TIMEOUT,
  );
});
