import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  buildPlan,
  makeEvent,
  op,
  pipeline,
  RunState,
  replayStoredRun,
  STEP_REEXECUTED,
  type StepwiseEvent,
} from '../src/index.js';

const one = op({ name: 'one', out: z.number(), compute: () => 1 });
const twice = op({ name: 'twice', ins: { x: z.number() }, out: z.number(), compute: (_c, { x }) => x * 2 });
const p = pipeline({
  name: 'replayed',
  build: () => {
    twice({ x: one() });
  },
});
const plan = buildPlan(p);
const runId = 'r1';

const start = (step: string, attempt: number) => makeEvent('STEP_START', runId, {}, { stepKey: step, attempt });
const output = (step: string, attempt: number) =>
  makeEvent('STEP_OUTPUT', runId, { output: 'result' }, { stepKey: step, attempt });
const success = (step: string, attempt: number) =>
  makeEvent('STEP_SUCCESS', runId, { durationMs: 1 }, { stepKey: step, attempt });
const failure = (step: string, attempt: number) =>
  makeEvent('STEP_FAILURE', runId, { error: { name: 'Error', message: 'boom' } }, { stepKey: step, attempt });
const ran = (step: string, attempt: number): StepwiseEvent[] => [
  start(step, attempt),
  output(step, attempt),
  success(step, attempt),
];

describe('replayStoredRun', () => {
  it('keeps the first end of a step, as the live coordinator does, when a later attempt starts it again', () => {
    // A job re-run after its worker was presumed lost starts a step that had already succeeded; the run ends
    // before that attempt does.
    const events = [
      makeEvent('RUN_START', runId, { stepCount: 2 }),
      ...ran('one', 1),
      start('one', 2),
      ...ran('twice', 1),
      makeEvent('RUN_SUCCESS', runId, { durationMs: 5 }),
    ];
    const view = replayStoredRun(plan, runId, events);
    expect(view.outcome).toBe('SUCCESS');
    expect(view.state.steps.get('one')?.status).toBe('SUCCESS');
    expect(view.state.steps.get('one')?.attempt).toBe(1);
    expect(view.state.steps.get('twice')?.status).toBe('SUCCESS');
  });

  it('lets a step re-executed by execute-step supersede its earlier end', () => {
    const reexecuted = makeEvent(
      'ENGINE_EVENT',
      runId,
      { kind: STEP_REEXECUTED, details: { stepKey: 'twice', attempt: 2 } },
      { stepKey: 'twice', attempt: 2 },
    );
    const failed = [
      makeEvent('RUN_START', runId, { stepCount: 2 }),
      ...ran('one', 1),
      start('twice', 1),
      failure('twice', 1),
      makeEvent('RUN_FAILURE', runId, { durationMs: 5, failedSteps: ['twice'] }),
    ];
    expect(replayStoredRun(plan, runId, failed).state.steps.get('twice')?.status).toBe('FAILURE');
    const fixed = replayStoredRun(plan, runId, [...failed, reexecuted, ...ran('twice', 2)]);
    expect(fixed.state.steps.get('twice')?.status).toBe('SUCCESS');
    expect(fixed.state.steps.get('twice')?.attempt).toBe(2);
    // Without the record of the re-execution, the first end stands.
    expect(replayStoredRun(plan, runId, [...failed, ...ran('twice', 2)]).state.steps.get('twice')?.status).toBe(
      'FAILURE',
    );
  });
});

describe('RunState tasks', () => {
  it('builds a step task when it is dispatched, keeps it while in flight and drops it when the step ends', () => {
    const state = new RunState(plan, runId);
    const first = state.nextReady();
    expect(first?.key).toBe('one');
    expect(first?.task).toBeUndefined();
    const node = first as NonNullable<typeof first>;
    const task = state.taskOf(node);
    expect(task).toMatchObject({ key: 'one', op: 'one', inputs: {} });
    state.markDispatched(node);
    expect(node.task).toBe(task);
    for (const e of ran('one', 1)) state.apply(e);
    expect(node.task).toBeUndefined();
    // The successor's inputs point at the output that was produced; a finished step's task can be rebuilt
    // (execute-step runs one step of a stored run again).
    const next = state.nextReady() as NonNullable<ReturnType<RunState['nextReady']>>;
    expect(state.taskOf(next)?.inputs).toEqual({ x: { from: 'one', ref: { runId, step: 'one', output: 'result' } } });
    expect(state.taskOf(node)?.key).toBe('one');
    expect(node.task).toBeUndefined();
  });
});
