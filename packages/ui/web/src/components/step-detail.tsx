import type { StepRow } from '../api/types.js';
import { formatDuration, formatTime } from '../lib/format.js';
import { ComputeLogs } from './compute-logs.js';
import { StatusBadge } from './status-badge.js';
import { WhyWaiting } from './why-waiting.js';

const NOT_STARTED = new Set(['PENDING', 'READY', 'DISPATCHED', 'UP_FOR_RETRY', 'NOT_STARTED']);

interface StepDetailProps {
  readonly runId: string;
  readonly step: StepRow;
  readonly runLive: boolean;
}

/** The selected step: its status, error, attempts, why it waits, and its stdout/stderr. */
export function StepDetail({ runId, step, runLive }: StepDetailProps) {
  return (
    <div class="panel" data-testid="step-detail" data-step={step.key}>
      <h2>
        <span class="mono">{step.key}</span> <StatusBadge status={step.status} />
      </h2>
      <div class="muted">
        op {step.op} · queue {step.queue} · {step.attempts} attempt{step.attempts === 1 ? '' : 's'}
        {step.workerId ? ` · on ${step.workerId}` : ''} · started {formatTime(step.startedAt)} · took{' '}
        {formatDuration(step.durationMs)}
        {step.medianMs !== null && ` (median ${formatDuration(step.medianMs)})`}
        {step.reused && ` · reused from ${step.reusedFrom ?? 'a parent run'}`}
      </div>
      {step.error && (
        <div class="error-box" data-testid="step-error">
          {`${step.error.name}: ${step.error.message}${step.error.stack ? `\n${step.error.stack}` : ''}`}
        </div>
      )}
      {step.skipReason && <p class="muted">skipped: {step.skipReason}</p>}
      {runLive && NOT_STARTED.has(step.status) && <WhyWaiting runId={runId} stepKey={step.key} />}
      <ComputeLogs
        runId={runId}
        stepKey={step.key}
        live={runLive && !['SUCCESS', 'FAILURE', 'SKIPPED'].includes(step.status)}
      />
    </div>
  );
}
