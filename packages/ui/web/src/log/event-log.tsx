import { useMemo, useState } from 'preact/hooks';
import type { ApiEvent, EventType } from '../api/types.js';
import { CommitInput } from '../components/commit-input.js';
import { VirtualList } from '../components/virtual-list.js';
import { formatClock } from '../lib/format.js';
import { type EventStore, eventText } from './event-store.js';
import { type LogFilters, writeLogFilters } from './log-filters.js';

const TYPES: readonly EventType[] = [
  'RUN_START',
  'RUN_SUCCESS',
  'RUN_FAILURE',
  'RUN_CANCELING',
  'RUN_CANCELED',
  'STEP_START',
  'STEP_INPUT',
  'STEP_OUTPUT',
  'STEP_SUCCESS',
  'STEP_FAILURE',
  'STEP_SKIPPED',
  'STEP_UP_FOR_RETRY',
  'STEP_RESTARTED',
  'LOG',
  'MATERIALIZATION',
  'ENGINE_EVENT',
];

interface EventLogProps {
  readonly store: EventStore;
  readonly version: number;
  readonly loading: boolean;
  readonly error: string | undefined;
  readonly filters: LogFilters;
  readonly selectedStep: string | undefined;
  readonly onSelectStep: (key: string) => void;
}

const ROW = 20;

/**
 * The run's event log: filters by step, type, attempt and text applied by the server (and kept in the URL), a
 * virtual list so 40,000 rows cost a screenful of DOM, and an in-app search that jumps between matching rows.
 */
export function EventLog({ store, version, loading, error, filters, selectedStep, onSelectStep }: EventLogProps) {
  const [search, setSearch] = useState('');
  const [hit, setHit] = useState(0);
  const events = store.events;
  const hits = useMemo(() => {
    if (!search) return [];
    const needle = search.toLowerCase();
    const out: number[] = [];
    events.forEach((e, i) => {
      if (`${e.stepKey ?? ''} ${e.type} ${eventText(e)}`.toLowerCase().includes(needle)) out.push(i);
    });
    return out;
  }, [search, version]);
  const hitSet = useMemo(() => new Set(hits), [hits]);
  const current = hits.length ? hits[Math.min(hit, hits.length - 1)] : undefined;
  if (window.__stepwise) window.__stepwise.eventSeqs = () => store.events.map((e) => e.seq);

  return (
    <div>
      <div class="toolbar">
        <CommitInput
          testId="log-filter-step"
          placeholder="step key"
          value={filters.stepKey}
          onCommit={(v) => writeLogFilters({ stepKey: v })}
        />
        {selectedStep && selectedStep !== filters.stepKey && (
          <button type="button" onClick={() => writeLogFilters({ stepKey: selectedStep })}>
            only {selectedStep}
          </button>
        )}
        <select
          data-testid="log-filter-type"
          value={filters.type}
          onChange={(e) => writeLogFilters({ type: e.currentTarget.value })}
        >
          <option value="">all types</option>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <CommitInput
          testId="log-filter-attempt"
          type="number"
          placeholder="attempt"
          width="80px"
          value={filters.attempt}
          onCommit={(v) => writeLogFilters({ attempt: v })}
        />
        <CommitInput
          testId="log-filter-text"
          placeholder="text (server)"
          value={filters.text}
          onCommit={(v) => writeLogFilters({ text: v })}
        />
        <span class="muted">|</span>
        <input
          data-testid="log-search"
          placeholder="find in log"
          value={search}
          onInput={(e) => {
            setSearch(e.currentTarget.value);
            setHit(0);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter')
              setHit((h) => (hits.length ? (h + (e.shiftKey ? hits.length - 1 : 1)) % hits.length : 0));
          }}
        />
        {search && (
          <span class="muted" data-testid="log-search-count">
            {hits.length ? `${Math.min(hit, hits.length - 1) + 1}/${hits.length}` : '0 found'}
          </span>
        )}
        <span class="muted" data-testid="log-count">
          {loading ? 'loading…' : `${events.length} events`}
        </span>
      </div>
      {error && <div class="error-box">{error}</div>}
      <VirtualList
        class="log"
        testId="event-log"
        count={events.length}
        rowHeight={ROW}
        follow
        scrollTo={current}
        row={(i) => {
          const e = events[i] as ApiEvent;
          return (
            <button
              type="button"
              class={`log-row${i === current ? ' current' : hitSet.has(i) ? ' hit' : ''}`}
              data-seq={e.seq}
              onClick={() => e.stepKey && onSelectStep(e.stepKey)}
            >
              <span class="t">{formatClock(e.timestamp)}</span>
              <span class={`ty status-${e.type.replace(/^(STEP|RUN)_/, '')}`}>{e.type}</span>
              <span class="k">{e.stepKey ?? ''}</span>
              <span>{e.attempt !== undefined ? `#${e.attempt}` : ''}</span>
              <span>{eventText(e)}</span>
            </button>
          );
        }}
      />
    </div>
  );
}
