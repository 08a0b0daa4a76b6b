import { useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { type GanttRow, type GanttStepInput, stepRows, timeBounds, visibleSegments, workerRows } from './model.js';
import { TimeAxis } from './time-axis.js';

interface GanttProps {
  readonly steps: readonly GanttStepInput[];
  readonly mode: 'steps' | 'workers';
  /** Pixels per second. */
  readonly zoom: number;
  readonly now: number;
  readonly selected?: string | undefined;
  readonly onSelect: (stepKey: string) => void;
}

const ROW = 22;
const LABEL = 220;
const OVERSCAN_ROWS = 8;

/**
 * The run's timeline drawn as positioned DOM boxes with viewport culling both ways: only rows in the scrolled
 * window and, in those, only segments crossing the visible time span are in the DOM, so a 10,000-step run holds
 * a few hundred nodes. Each attempt is its own segment, labelled by its worker.
 */
export function Gantt({ steps, mode, zoom, now, selected, onSelect }: GanttProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, left: 0, width: 800, height: 400 });
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const rows: GanttRow[] = useMemo(
    () => (mode === 'workers' ? workerRows(steps, now) : stepRows(steps, open)),
    [steps, mode, open, mode === 'workers' ? now : 0],
  );
  const bounds = useMemo(() => timeBounds(rows, now), [rows, now]);
  const pxPerMs = zoom / 1000;
  const width = Math.max(200, (bounds.end - bounds.start) * pxPerMs + 40);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () =>
      setView({ top: el.scrollTop, left: el.scrollLeft, width: el.clientWidth, height: el.clientHeight });
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    measure();
    return () => observer.disconnect();
  }, []);

  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN_ROWS);
  const last = Math.min(rows.length, Math.ceil((view.top + view.height) / ROW) + OVERSCAN_ROWS);
  const from = bounds.start + (view.left - LABEL) / pxPerMs;
  const to = bounds.start + (view.left + view.width) / pxPerMs;

  const rendered = [];
  for (let i = first; i < last; i++) {
    const row = rows[i] as GanttRow;
    const isSelected = row.stepKey !== undefined && row.stepKey === selected;
    rendered.push(
      <div
        key={row.id}
        class={`g-row g-${row.kind}${isSelected ? ' selected' : ''}`}
        style={{ top: `${i * ROW + ROW}px`, width: `${LABEL + width}px` }}
        data-row={row.id}
      >
        <button
          type="button"
          class={`g-label status-${row.status}`}
          style={{ left: `${view.left}px` }}
          title={row.label}
          onClick={() => {
            if (row.kind === 'group') {
              const key = row.id.slice('group:'.length);
              const next = new Set(open);
              if (next.has(key)) next.delete(key);
              else next.add(key);
              setOpen(next);
            } else if (row.stepKey) onSelect(row.stepKey);
          }}
        >
          {row.kind === 'group' ? `${row.open ? '▾' : '▸'} ${row.label} (${row.count})` : row.label}
        </button>
        {visibleSegments(row, from, to, now).map((s) => {
          const left = LABEL + (s.start - bounds.start) * pxPerMs;
          const w = Math.max(2, ((s.end ?? now) - s.start) * pxPerMs);
          return (
            <button
              type="button"
              key={`${s.stepKey}:${s.attempt}`}
              class={`g-seg status-${s.status}`}
              style={{ left: `${left}px`, width: `${w}px` }}
              title={`${s.stepKey} attempt ${s.attempt}${s.workerId ? ` on ${s.workerId}` : ''}: ${s.status}`}
              onClick={() => onSelect(s.stepKey)}
            >
              {w > 40 ? (mode === 'workers' ? s.stepKey : (s.workerId ?? '')) : ''}
            </button>
          );
        })}
      </div>,
    );
  }

  if (rendered.length > 0 && window.__stepwise && window.__stepwise.ganttPaintedAt === undefined) {
    const hooks = window.__stepwise;
    requestAnimationFrame(() => {
      hooks.ganttPaintedAt ??= performance.now();
    });
  }
  return (
    <div
      ref={ref}
      class="gantt"
      data-testid="gantt"
      onScroll={(e) => {
        const el = e.currentTarget;
        setView({ top: el.scrollTop, left: el.scrollLeft, width: el.clientWidth, height: el.clientHeight });
      }}
    >
      <div class="g-space" style={{ height: `${(rows.length + 1) * ROW}px`, width: `${LABEL + width}px` }}>
        <TimeAxis
          top={view.top}
          left={view.left}
          labelWidth={LABEL}
          viewWidth={view.width}
          start={bounds.start}
          pxPerMs={pxPerMs}
        />
        {rendered}
      </div>
    </div>
  );
}
