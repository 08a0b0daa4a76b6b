import { safeRunId } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { airflowTaskId, argoTaskName, dnsLabel } from '../src/index.js';

describe('names for other schedulers', () => {
  it('Airflow task ids: the step key where Airflow takes it, else made valid with a hash', () => {
    expect(airflowTaskId('load_rows-2')).toBe('load_rows-2');
    const long = 'x'.repeat(300);
    const id = airflowTaskId(long);
    expect(id).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(id.length).toBeLessThanOrEqual(250);
    expect(airflowTaskId(`${long}y`)).not.toBe(id);
    expect(airflowTaskId('a b')).toMatch(/^a_b__[0-9a-f]{8}$/);
    expect(airflowTaskId('a b')).not.toBe(airflowTaskId('a_b'));
  });

  it('Argo task names: alphanumerics and dashes, starting alphanumeric, at most 128, distinct', () => {
    expect(argoTaskName('load-rows')).toBe('load-rows');
    for (const key of ['after_odd', '_x', 'a'.repeat(200), '-lead']) {
      expect(argoTaskName(key)).toMatch(/^[a-zA-Z0-9][-a-zA-Z0-9]{0,127}$/);
    }
    expect(argoTaskName('a_b')).not.toBe(argoTaskName('a-b'));
    expect(dnsLabel('My_Pipeline')).toMatch(/^my-pipeline-[0-9a-f]{6}$/);
    expect(dnsLabel('etl')).toBe('etl');
  });

  it('run ids made safe for paths and Redis keys keep distinct ids distinct', () => {
    expect(safeRunId('etl__scheduled_1')).toBe('etl__scheduled_1');
    const a = safeRunId('etl__manual__2026-12-03T10:00:00+00:00');
    expect(a).toMatch(/^etl__manual__2026-12-03T10_00_00_00_00-[0-9a-f]{8}$/);
    expect(safeRunId('etl__manual__2026-12-03T10_00_00_00_00')).not.toBe(a);
    expect(safeRunId('../../etc')).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/);
    expect(safeRunId('..')).toMatch(/^_\.-[0-9a-f]{8}$/);
    expect(safeRunId('x'.repeat(500)).length).toBeLessThanOrEqual(209);
  });
});
