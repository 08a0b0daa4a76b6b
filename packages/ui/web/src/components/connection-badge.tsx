import { connection } from '../lib/tab-stream.js';

const TEXT = { idle: '', connecting: 'connecting…', open: 'live', retrying: 'disconnected, retrying…' } as const;

/** The tab stream's state, so a stale page is never mistaken for a live one. */
export function ConnectionBadge() {
  const state = connection.value;
  if (state === 'idle') return null;
  return (
    <span class={`conn conn-${state}`} data-testid="connection" data-state={state}>
      {TEXT[state]}
    </span>
  );
}
