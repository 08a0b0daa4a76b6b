interface TimeAxisProps {
  readonly top: number;
  readonly left: number;
  readonly labelWidth: number;
  readonly viewWidth: number;
  readonly start: number;
  readonly pxPerMs: number;
}

const STEPS_MS = [10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000, 600_000, 3_600_000];

function label(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${ms % 60_000 ? `${Math.round((ms % 60_000) / 1000)}s` : ''}`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

/** Ticks of elapsed time since the run's first start, only those in view, pinned to the top while scrolling. */
export function TimeAxis({ top, left, labelWidth, viewWidth, start: _start, pxPerMs }: TimeAxisProps) {
  const step = STEPS_MS.find((s) => s * pxPerMs >= 80) ?? 3_600_000;
  const fromMs = Math.max(0, Math.floor((left - labelWidth) / pxPerMs / step) * step);
  const toMs = (left + viewWidth) / pxPerMs;
  const ticks = [];
  for (let t = fromMs; t <= toMs; t += step) {
    ticks.push(
      <span key={t} class="g-tick" style={{ left: `${labelWidth + t * pxPerMs}px` }}>
        {label(t)}
      </span>,
    );
  }
  return (
    <div class="g-axis" style={{ top: `${top}px` }}>
      {ticks}
    </div>
  );
}
