import { describe, expect, it } from 'vitest';
import { stepRows, timeBounds, visibleSegments, workerRows } from '../web/src/gantt/model.js';
import { parseAnsi, parseAnsiLines } from '../web/src/lib/ansi.js';
import { rangeOfPath } from '../web/src/lib/yaml-paths.js';

const seg = (stepKey: string, start: number, end: number | undefined, workerId?: string) => ({
  stepKey,
  attempt: 1,
  start,
  end,
  workerId,
  status: end === undefined ? 'RUNNING' : 'SUCCESS',
});

describe('front-end models (pure parts of packages/ui/web)', () => {
  it('parses ANSI colours into classes and numeric colours; escapes never reach the text', () => {
    expect(parseAnsi('\x1b[31mred\x1b[0m plain <b>x</b>')).toEqual([
      { text: 'red', classes: 'ansi-fg-31' },
      { text: ' plain <b>x</b>', classes: '' },
    ]);
    expect(parseAnsi('\x1b[1;38;5;196mhot\x1b[2K')).toEqual([
      { text: 'hot', classes: 'ansi-bold', color: 'rgb(255,0,0)' },
    ]);
    expect(parseAnsi('\x1b[38;2;1;2;300mrgb')[0]?.color).toBe('rgb(1,2,255)');
    expect(parseAnsiLines('\x1b[32ma\nb\x1b[0m\nc\n').map((l) => l.map((s) => `${s.classes}:${s.text}`))).toEqual([
      ['ansi-fg-32:a'],
      ['ansi-fg-32:b'],
      [':c'],
    ]);
  });

  it('folds the copies of a dynamic step into one group row, open on demand, with one bar over their span', () => {
    const steps = [
      { key: 'split', status: 'SUCCESS', segments: [seg('split', 0, 10)] },
      { key: 'map[a]', status: 'SUCCESS', segments: [seg('map[a]', 10, 20)] },
      { key: 'map[b]', status: 'FAILURE', segments: [seg('map[b]', 12, 40)] },
      { key: 'total', status: 'PENDING', segments: [] },
    ];
    const folded = stepRows(steps, new Set());
    expect(folded.map((r) => r.label)).toEqual(['split', 'map[*]', 'total']);
    expect(folded[1]).toMatchObject({ kind: 'group', count: 2, status: 'FAILURE' });
    expect(folded[1]?.segments).toMatchObject([{ start: 10, end: 40 }]);
    expect(stepRows(steps, new Set(['map'])).map((r) => r.label)).toEqual([
      'split',
      'map[*]',
      'map[a]',
      'map[b]',
      'total',
    ]);
  });

  it('packs each worker into sub-lanes so segments never overlap; culls segments outside the view', () => {
    const steps = [
      { key: 'a', status: 'SUCCESS', segments: [seg('a', 0, 10, 'w1')] },
      { key: 'b', status: 'SUCCESS', segments: [seg('b', 5, 15, 'w1')] },
      { key: 'c', status: 'RUNNING', segments: [seg('c', 12, undefined, 'w1')] },
      { key: 'd', status: 'SUCCESS', segments: [seg('d', 0, 3)] },
    ];
    const lanes = workerRows(steps, 100);
    expect(lanes.map((l) => [l.label, l.segments.map((s) => s.stepKey)])).toEqual([
      ['--', ['d']],
      ['w1', ['a', 'c']],
      ['w1 #2', ['b']],
    ]);
    expect(timeBounds(lanes, 100)).toEqual({ start: 0, end: 1000 });
    expect(visibleSegments(lanes[1] as (typeof lanes)[number], 11, 50, 100).map((s) => s.stepKey)).toEqual(['c']);
  });

  it('finds the YAML line of a validation path, or its deepest existing parent', () => {
    const text = 'ops:\n  extract:\n    config:\n      limit: ten\n';
    const exact = rangeOfPath(text, 'ops.extract.config.limit');
    expect(text.slice(exact.from, exact.to)).toBe('limit: ten');
    expect(exact.exact).toBe(true);
    const missing = rangeOfPath(text, 'ops.extract.config.source');
    expect(text.slice(missing.from, missing.to)).toBe('config');
    expect(missing.exact).toBe(false);
  });
});
