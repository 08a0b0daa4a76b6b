import type { WaitingResponse, WaitReason } from '../api/types.js';
import { formatTime } from '../lib/format.js';
import { useApi } from '../lib/use-api.js';

function reasonText(r: WaitReason): string {
  switch (r.kind) {
    case 'upstream':
      return `upstream not done: ${r.steps.join(', ')}`;
    case 'queue':
      return `${r.jobsAhead} job${r.jobsAhead === 1 ? '' : 's'} ahead in queue ${r.queue}`;
    case 'no-worker':
      return `no live worker serves queue ${r.queue}`;
    case 'worker-slots':
      return `all ${r.slots} slots of queue ${r.queue}'s workers busy (${r.busy})`;
    case 'retry':
      return `attempt ${r.nextAttempt} starts at ${formatTime(r.at)}`;
    case 'run-queued': {
      const limit = r.limit
        ? r.limit.kind === 'maxConcurrentRuns'
          ? `: maxConcurrentRuns ${r.limit.inProgress}/${r.limit.limit}`
          : `: tag limit ${r.limit.key}${r.limit.value === null ? '' : `=${r.limit.value}`} ${r.limit.inProgress}/${r.limit.limit}`
        : '';
      return `the run is queued, position ${r.position}${limit}`;
    }
    case 'run-not-started':
      return `the run is ${r.status}`;
    case 'unknown':
      return r.message;
  }
}

/** "Why is this step waiting?": the server's reasons for one step, refreshed every 2 s. */
export function WhyWaiting({ runId, stepKey }: { readonly runId: string; readonly stepKey: string }) {
  const { data, error } = useApi<WaitingResponse>(`/api/runs/${encodeURIComponent(runId)}/waiting`, 2000);
  const reasons = data?.steps.find((s) => s.key === stepKey)?.reasons;
  return (
    <div data-testid="why-waiting">
      <strong>Why waiting: </strong>
      {error ? (
        <span class="muted">{error.message}</span>
      ) : !reasons ? (
        <span class="muted">…</span>
      ) : reasons.length === 0 ? (
        <span class="muted">nothing known holds it</span>
      ) : (
        <ul>
          {reasons.map((r) => (
            <li key={JSON.stringify(r)} class={r.kind === 'no-worker' ? 'warn' : ''}>
              {reasonText(r)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
