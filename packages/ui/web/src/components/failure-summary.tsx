import type { FailureSummary as Failure } from '../api/types.js';

interface FailureSummaryProps {
  readonly failure: Failure;
  readonly onSelect: (key: string) => void;
}

/** The root failure of the run, apart from the skips it caused: what to fix first. */
export function FailureSummary({ failure, onSelect }: FailureSummaryProps) {
  return (
    <div class="panel" data-testid="failure-summary">
      <h2>Root failure</h2>
      {failure.rootSteps.map((s) => (
        <div key={s.key}>
          <button type="button" class="mono" onClick={() => onSelect(s.key)}>
            {s.key}
          </button>{' '}
          {s.error && <span class="mono">{`${s.error.name}: ${s.error.message}`}</span>}
        </div>
      ))}
      {failure.causedSkips.length > 0 && (
        <p class="muted" data-testid="caused-skips">
          {failure.causedSkips.length} step{failure.causedSkips.length === 1 ? '' : 's'} not run because of it:{' '}
          {failure.causedSkips.slice(0, 20).join(', ')}
          {failure.causedSkips.length > 20 ? ` and ${failure.causedSkips.length - 20} more` : ''}
        </p>
      )}
    </div>
  );
}
