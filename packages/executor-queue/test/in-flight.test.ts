// The coordinator's in-flight bookkeeping: what decides whether new steps share jobs (the queue's backlog).
import type { StepTask } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { type InFlight, InFlightSteps } from '../src/in-flight.js';

const RUN = 'run-1';

function task(key: string, inputs: StepTask['inputs'] = {}): StepTask {
  return { runId: RUN, key, planKey: key, op: 'noop', inputs, outputs: [], config: null, tags: {} };
}

function entry(key: string, queue: string, extra: Partial<InFlight> = {}): InFlight {
  return { task: task(key), queue, jobId: `${RUN}|${key}|1`, attempt: 1, enqueuedAt: 0, lastEventAt: 0, ...extra };
}

describe('InFlightSteps', () => {
  it('counts per queue the steps enqueued and not started', () => {
    const steps = new InFlightSteps();
    steps.set(entry('a', 'q1'));
    steps.set(entry('b', 'q1'));
    steps.set(entry('c', 'q2'));
    expect([steps.backlog('q1'), steps.backlog('q2'), steps.backlog('other')]).toEqual([2, 1, 0]);
    steps.started(steps.get('a') as InFlight, 1);
    expect(steps.backlog('q1')).toBe(1);
    // Ending a started step does not count it twice.
    steps.delete('a');
    expect(steps.backlog('q1')).toBe(1);
    steps.delete('b');
    expect(steps.backlog('q1')).toBe(0);
    expect(steps.size).toBe(1);
  });

  it("does not count members of other steps' jobs or adopted started steps, and a replaced entry is counted once", () => {
    const steps = new InFlightSteps();
    steps.set(entry('member', 'q', { member: true }));
    steps.set(entry('adopted', 'q', { startedAt: 5 }));
    expect(steps.backlog('q')).toBe(0);
    steps.set(entry('x', 'q'));
    steps.set(entry('x', 'q'));
    expect(steps.backlog('q')).toBe(1);
    // Re-enqueued as its own job after its lead's job ended: counted again.
    steps.set(entry('member', 'q'));
    expect(steps.backlog('q')).toBe(2);
    steps.started(steps.get('x') as InFlight, 1);
    steps.started(steps.get('x') as InFlight, 2);
    expect(steps.backlog('q')).toBe(1);
  });
});
