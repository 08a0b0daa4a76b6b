import type { StepRow } from '../api/types.js';
import { formatDuration } from '../lib/format.js';
import { StatusBadge } from './status-badge.js';
import { VirtualList } from './virtual-list.js';

interface StepsTableProps {
  readonly steps: readonly StepRow[];
  readonly selected: string | undefined;
  readonly onSelect: (key: string) => void;
  /** Plan keys ticked for "re-execute selected"; absent in read-only mode. */
  readonly ticked?: ReadonlySet<string>;
  readonly onTick?: (planKey: string) => void;
  readonly now: number;
}

/** Duration against the step's median over the pipeline's last runs: `2.1 s (median 1.0 s, 2.1×)`. */
function durationCell(s: StepRow, now: number): string {
  const d = s.durationMs ?? (s.startedAt !== undefined && s.status === 'RUNNING' ? now - s.startedAt : undefined);
  if (d === undefined) return '–';
  if (s.medianMs === null || s.medianMs <= 0) return formatDuration(d);
  return `${formatDuration(d)} (median ${formatDuration(s.medianMs)}, ${(d / s.medianMs).toFixed(1)}×)`;
}

/** The steps with status, attempts, duration vs median, worker and queue; virtual, so 10,000 rows stay light. */
export function StepsTable({ steps, selected, onSelect, ticked, onTick, now }: StepsTableProps) {
  return (
    <div class="steps-table" data-testid="steps-table">
      <div class="st-row st-head">
        {ticked && <span class="st-tick" />}
        <span class="st-key">Step</span>
        <span class="st-status">Status</span>
        <span class="st-att">Att.</span>
        <span class="st-dur">Duration</span>
        <span class="st-worker">Worker</span>
        <span class="st-queue">Queue</span>
      </div>
      <VirtualList
        class="st-body"
        count={steps.length}
        rowHeight={24}
        scrollTo={selected ? steps.findIndex((s) => s.key === selected) : undefined}
        row={(i) => {
          const s = steps[i] as StepRow;
          return (
            <div class={`st-row${s.key === selected ? ' selected' : ''}`} data-step={s.key}>
              {ticked && onTick && (
                <span class="st-tick">
                  <input
                    type="checkbox"
                    checked={ticked.has(s.planKey)}
                    onClick={(e) => e.stopPropagation()}
                    onChange={() => onTick(s.planKey)}
                  />
                </span>
              )}
              <button type="button" class="st-main" onClick={() => onSelect(s.key)}>
                <span class="st-key mono" title={s.key}>
                  {s.key}
                </span>
                <span class="st-status">
                  <StatusBadge status={s.reused ? 'REUSED' : s.status} />
                </span>
                <span class="st-att">{s.attempts}</span>
                <span class="st-dur">{durationCell(s, now)}</span>
                <span class="st-worker mono">{s.workerId ?? ''}</span>
                <span class="st-queue">{s.queue}</span>
              </button>
            </div>
          );
        }}
      />
    </div>
  );
}
