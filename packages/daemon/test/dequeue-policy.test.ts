import type { QueueRunView } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { chooseRunsToDequeue } from '../src/dequeue-policy.js';

let order = 0;
const run = (runId: string, tags: Record<string, string> = {}, status: QueueRunView['status'] = 'QUEUED') => ({
  runId,
  status,
  tags,
  order: ++order,
});
const noTagLimits = { maxConcurrentRuns: 10, tagConcurrencyLimits: [] };

describe('chooseRunsToDequeue', () => {
  it('takes runs in submission order up to maxConcurrentRuns minus the runs in progress', () => {
    const queued = [run('a'), run('b'), run('c'), run('d')];
    expect(chooseRunsToDequeue(queued, [], { ...noTagLimits, maxConcurrentRuns: 3 })).toEqual(['a', 'b', 'c']);
    const inProgress = [run('x', {}, 'STARTED'), run('y', {}, 'STARTING')];
    expect(chooseRunsToDequeue(queued, inProgress, { ...noTagLimits, maxConcurrentRuns: 3 })).toEqual(['a']);
    expect(
      chooseRunsToDequeue(queued, [...inProgress, run('z', {}, 'CANCELING')], { ...noTagLimits, maxConcurrentRuns: 3 }),
    ).toEqual([]);
  });

  it('orders by stepwise/priority, higher first, then FIFO; a non-integer priority counts as 0', () => {
    const queued = [
      run('low', { 'stepwise/priority': '-1' }),
      run('zero'),
      run('high', { 'stepwise/priority': '5' }),
      run('odd', { 'stepwise/priority': 'x' }),
      run('high2', { 'stepwise/priority': '5' }),
    ];
    expect(chooseRunsToDequeue(queued, [], noTagLimits)).toEqual(['high', 'high2', 'zero', 'odd', 'low']);
  });

  it('a tag limit with a value counts only runs with that value; a run it holds back does not hold back the rest', () => {
    const limits = { maxConcurrentRuns: 10, tagConcurrencyLimits: [{ key: 'team', value: 'ml', limit: 2 }] };
    const inProgress = [run('r1', { team: 'ml' }, 'STARTED')];
    const queued = [run('ml1', { team: 'ml' }), run('ml2', { team: 'ml' }), run('web', { team: 'web' }), run('none')];
    expect(chooseRunsToDequeue(queued, inProgress, limits)).toEqual(['ml1', 'web', 'none']);
  });

  it('perUniqueValue limits each value separately; a key-only limit counts every run with the key', () => {
    const perTenant = {
      maxConcurrentRuns: 10,
      tagConcurrencyLimits: [{ key: 'tenant', perUniqueValue: true, limit: 1 }],
    };
    const queued = [
      run('a1', { tenant: 'a' }),
      run('a2', { tenant: 'a' }),
      run('b1', { tenant: 'b' }),
      run('c1', { tenant: 'c' }),
    ];
    expect(chooseRunsToDequeue(queued, [run('c0', { tenant: 'c' }, 'STARTED')], perTenant)).toEqual(['a1', 'b1']);
    const anyTenant = { maxConcurrentRuns: 10, tagConcurrencyLimits: [{ key: 'tenant', limit: 2 }] };
    expect(chooseRunsToDequeue([...queued, run('free')], [], anyTenant)).toEqual(['a1', 'a2', 'free']);
  });

  it('applies every limit at once, and a limit of 0 holds its runs back', () => {
    const limits = {
      maxConcurrentRuns: 3,
      tagConcurrencyLimits: [
        { key: 'team', value: 'ml', limit: 1 },
        { key: 'tenant', perUniqueValue: true, limit: 1 },
        { key: 'paused', limit: 0 },
      ],
    };
    const queued = [
      run('p', { paused: 'yes' }),
      run('ml-a', { team: 'ml', tenant: 'a' }),
      run('ml-b', { team: 'ml', tenant: 'b' }),
      run('web-a', { team: 'web', tenant: 'a' }),
      run('web-b', { team: 'web', tenant: 'b' }),
      run('web-c', { team: 'web', tenant: 'c' }),
    ];
    expect(chooseRunsToDequeue(queued, [], limits)).toEqual(['ml-a', 'web-b', 'web-c']);
  });
});
