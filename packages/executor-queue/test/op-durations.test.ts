// The per-op duration estimate that decides whether ready steps of a short backlog still share jobs.
import { describe, expect, it } from 'vitest';
import { OpDurations, QUICK_STEP_MS } from '../src/op-durations.js';

describe('OpDurations', () => {
  it('knows nothing of an op before its third success, then follows a moving average', () => {
    const d = new OpDurations();
    d.record('noop', 0.1);
    d.record('noop', 0.1);
    expect(d.meanMs('noop')).toBeUndefined();
    expect(d.isQuick('noop')).toBe(false);
    d.record('noop', 0.1);
    expect(d.meanMs('noop')).toBeCloseTo(0.1);
    expect(d.isQuick('noop')).toBe(true);
    expect(d.isQuick('other')).toBe(false);
  });

  it('stops calling an op quick once its steps take longer, and ignores nonsense durations', () => {
    const d = new OpDurations();
    for (let i = 0; i < 5; i++) d.record('grows', 0.2);
    expect(d.isQuick('grows')).toBe(true);
    for (let i = 0; i < 10; i++) d.record('grows', 50);
    expect(d.isQuick('grows')).toBe(false);
    expect(d.meanMs('grows')).toBeGreaterThan(QUICK_STEP_MS);
    d.record('grows', Number.NaN);
    d.record('grows', -1);
    expect(d.meanMs('grows')).toBeGreaterThan(QUICK_STEP_MS);
  });
});
