// The executor conformance suite (@stepwise/testing) on the two executors of core; the queue runs it in
// test/queue/conformance.test.ts.
import { CONFORMANCE_PIPELINES, runExecutorConformance } from '@stepwise/testing';
import { expect } from 'vitest';
import { MultiprocessExecutor } from '../src/index.js';

/** The pid in a workerId (`host/pid`). */
const pidOf = (workerId: string) => Number(workerId.split('/').at(-1));

runExecutorConformance('in-process', {
  execution: () => ({ inProcess: { maxConcurrent: 4 } }),
  expectWorkers: (ids) => {
    // Steps run in this process carry no worker id.
    for (const id of ids) expect(id).toBe('');
  },
});

runExecutorConformance('multiprocess', {
  executor: () => new MultiprocessExecutor({ maxConcurrent: 2, file: CONFORMANCE_PIPELINES }),
  expectWorkers: (ids) => {
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(pidOf(id)).not.toBe(process.pid);
  },
  runTimeoutMs: 40_000,
});
