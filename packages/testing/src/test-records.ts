/** Records for storage tests: a run with an empty plan, a LOG event, ids unique across processes and runs. */
import { type ExecutionPlan, makeEvent, type RunRecord, type StepwiseEvent } from '@stepwise/core';

const plan: ExecutionPlan = {
  version: 1,
  pipeline: 'p',
  fingerprint: 'f',
  steps: [],
  resources: {},
  selection: null,
  reuse: {},
};

/** A QUEUED run of pipeline 'etl' with an empty plan, created now. */
export function testRunRecord(runId: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    runId,
    pipeline: 'etl',
    status: 'QUEUED',
    runConfig: { ops: { a: { config: { n: 1 } } } },
    plan,
    tags: {},
    createdAt: Date.now(),
    updatedAt: Date.now(),
    ...overrides,
  };
}

export function testLogEvent(runId: string, msg: string, stepKey?: string): StepwiseEvent {
  return makeEvent('LOG', runId, { level: 'info', msg }, stepKey === undefined ? {} : { stepKey });
}

let counter = 0;
/** `<prefix>-<pid>-<time>-<n>`: unique across the processes sharing a database. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}
