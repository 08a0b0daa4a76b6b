import { useMemo } from 'preact/hooks';
import type { StepRow } from '../api/types.js';
import { route, setQuery } from '../lib/router.js';
import { Gantt } from './gantt.js';
import type { GanttSegment, GanttStepInput } from './model.js';

interface GanttPanelProps {
  readonly steps: readonly StepRow[];
  readonly now: number;
  readonly selected: string | undefined;
  readonly onSelect: (key: string) => void;
  /** Run span, to fit the default zoom to the view. */
  readonly spanMs: number;
}

const ZOOMS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

/** Each attempt as a segment; an attempt without an outcome yet is running. */
export function ganttInput(steps: readonly StepRow[]): GanttStepInput[] {
  return steps.map((s) => ({
    key: s.key,
    status: s.status,
    segments: s.attemptsDetail.map(
      (a): GanttSegment => ({
        stepKey: s.key,
        attempt: a.attempt,
        start: a.startedAt,
        end: a.endedAt,
        workerId: a.workerId,
        status: a.outcome ?? (a.endedAt === undefined ? 'RUNNING' : s.status),
      }),
    ),
  }));
}

/** The Gantt with its controls: lanes by step or by worker, and zoom (px per second); both in the URL. */
export function GanttPanel({ steps, now, selected, onSelect, spanMs }: GanttPanelProps) {
  const q = route.value.query;
  const mode = q.get('lanes') === 'workers' ? 'workers' : 'steps';
  const fit = ZOOMS.reduce((best, z) => (z * (spanMs / 1000) <= 900 ? z : best), ZOOMS[0] as number);
  const zoom = Number(q.get('zoom')) || fit;
  const input = useMemo(() => ganttInput(steps), [steps]);
  const zi = ZOOMS.findIndex((z) => z >= zoom);
  return (
    <div>
      <div class="toolbar">
        <span class="tabs" style={{ margin: 0, border: 'none' }}>
          <button type="button" class={mode === 'steps' ? 'active' : ''} onClick={() => setQuery({ lanes: undefined })}>
            by step
          </button>
          <button
            type="button"
            data-testid="lanes-workers"
            class={mode === 'workers' ? 'active' : ''}
            onClick={() => setQuery({ lanes: 'workers' })}
          >
            one lane per worker
          </button>
        </span>
        <button type="button" onClick={() => setQuery({ zoom: String(ZOOMS[Math.max(0, zi - 1)]) })}>
          −
        </button>
        <span class="muted">{zoom} px/s</span>
        <button type="button" onClick={() => setQuery({ zoom: String(ZOOMS[Math.min(ZOOMS.length - 1, zi + 1)]) })}>
          +
        </button>
      </div>
      <Gantt steps={input} mode={mode} zoom={zoom} now={now} selected={selected} onSelect={onSelect} />
    </div>
  );
}
