// Small output values the coordinator puts in the jobs of the steps that read them.
import type { PlanStep, StepTask } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { InlineValues, inlinedProducers, MAX_INLINED_FAN_IN } from '../src/inline-values.js';

const RUN = 'run-1';

function task(key: string, inputs: StepTask['inputs'] = {}): StepTask {
  return { runId: RUN, key, planKey: key, op: 'noop', inputs, outputs: [], config: null, tags: {} };
}

describe('InlineValues', () => {
  const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
  const one = (step: string) => ({ from: 'one' as const, ref: { runId: RUN, step, output: 'result' } });

  it('gives a task the values of the refs it reads, keyed relative to the run, and only those of its run', () => {
    const values = new InlineValues(RUN, 1 << 20);
    values.put(`${RUN}/a/result`, 1, bytes(2));
    values.put(`${RUN}/b/out`, 1, bytes(1, 7));
    values.put(`${RUN}/b/items[k1]`, 1, bytes(1, 9));
    values.put('other-run/a/result', 1, bytes(1));
    const t = task('c', {
      x: one('a'),
      y: { from: 'many', refs: [{ runId: RUN, step: 'b', output: 'items', mappingKey: 'k1' }] },
      z: { from: 'one', ref: { runId: 'parent-run', step: 'a', output: 'result' } },
      w: { from: 'config', value: 3 },
    });
    expect(values.forTask(t)).toEqual({
      inline: {
        'a/result': Buffer.from(bytes(2)).toString('base64'),
        'b/items[k1]': Buffer.from(bytes(1, 9)).toString('base64'),
      },
    });
    expect(values.forTask(task('d', { x: one('missing') }))).toEqual({});
  });

  it('keeps the newest attempt, drops older attempts when a new one starts, and respects its budgets', () => {
    const values = new InlineValues(RUN, 10, 10);
    values.put(`${RUN}/a/result`, 2, bytes(1, 2));
    values.put(`${RUN}/a/result`, 1, bytes(1, 1));
    expect(values.forTask(task('x', { v: one('a') })).inline?.['a/result']).toBe(Buffer.from([2]).toString('base64'));
    values.dropOlderThan('a', 3);
    expect(values.forTask(task('x', { v: one('a') }))).toEqual({});
    // Total budget (10 base64 bytes): the third value of 4 bytes does not fit.
    values.put(`${RUN}/p/result`, 1, bytes(1));
    values.put(`${RUN}/q/result`, 1, bytes(1));
    values.put(`${RUN}/r/result`, 1, bytes(1));
    expect(values.forTask(task('x', { v: one('r') }))).toEqual({});
    // Per-job budget (10 bytes of key and base64, passed by the first value): the rest load from Redis.
    const fanIn = task('y', {
      xs: { from: 'many', refs: ['p', 'q'].map((s) => ({ runId: RUN, step: s, output: 'result' })) },
    });
    expect(Object.keys(values.forTask(fanIn).inline ?? {})).toEqual(['p/result']);
  });

  it('holds a dynamic step of many items by output: each found, re-put, and dropped by attempt', () => {
    const values = new InlineValues(RUN, 1 << 24);
    const item = (k: number) => ({
      from: 'one' as const,
      ref: { runId: RUN, step: 'split', output: 'out', mappingKey: `k${k}` },
    });
    for (let k = 0; k < 500; k++) values.put(`${RUN}/split/out[k${k}]`, 1, bytes(1, k % 256));
    for (const k of [0, 7, 8, 9, 250, 499]) {
      expect(values.forTask(task(`m${k}`, { x: item(k) })).inline).toEqual({
        [`split/out[k${k}]`]: Buffer.from([k % 256]).toString('base64'),
      });
    }
    // A newer attempt's value replaces the older one; an older attempt's never does.
    values.put(`${RUN}/split/out[k3]`, 2, bytes(1, 200));
    values.put(`${RUN}/split/out[k3]`, 1, bytes(1, 100));
    expect(values.forTask(task('m3', { x: item(3) })).inline?.['split/out[k3]']).toBe(
      Buffer.from([200]).toString('base64'),
    );
    // Attempt 2 started: only k3 (from attempt 2) survives, and it is still found.
    values.dropOlderThan('split', 2);
    expect(values.forTask(task('m4', { x: item(4) }))).toEqual({});
    expect(values.forTask(task('m3', { x: item(3) })).inline?.['split/out[k3]']).toBe(
      Buffer.from([200]).toString('base64'),
    );
    values.dropOlderThan('split', 3);
    expect(values.forTask(task('m3', { x: item(3) }))).toEqual({});
  });

  it('keeps only the values of steps that a narrow enough step reads (a wide fan-in loads its inputs)', () => {
    const step = (key: string, upstream: string[]): PlanStep => ({
      key,
      op: 'noop',
      inputs: {},
      outputs: [],
      tags: {},
      config: null,
      upstream,
    });
    const sources = Array.from({ length: MAX_INLINED_FAN_IN + 1 }, (_, i) => step(`s${i}`, []));
    const plan = [
      ...sources,
      step(
        'join',
        sources.map((s) => s.key),
      ),
      step('pair', ['s0', 'tmpl']),
      step('tmpl', []),
    ];
    const producers = inlinedProducers(plan);
    expect([...producers].sort()).toEqual(['s0', 'tmpl']);
    const values = new InlineValues(RUN, 1 << 20, 1 << 20, producers);
    values.put(`${RUN}/s0/result`, 1, bytes(1));
    values.put(`${RUN}/s1/result`, 1, bytes(1));
    values.put(`${RUN}/tmpl[k]/result`, 1, bytes(1));
    const reader = task('r', {
      xs: {
        from: 'many',
        refs: [
          { runId: RUN, step: 's0', output: 'result' },
          { runId: RUN, step: 's1', output: 'result' },
          { runId: RUN, step: 'tmpl[k]', output: 'result' },
        ],
      },
    });
    // s1 is read by the wide join only: not kept. A mapped copy counts as its template.
    expect(Object.keys(values.forTask(reader).inline ?? {})).toEqual(['s0/result', 'tmpl[k]/result']);
  });
});
