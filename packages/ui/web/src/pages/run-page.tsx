import { useEffect, useMemo, useState } from 'preact/hooks';
import { getJson } from '../api/client.js';
import type { RunDetailResponse, StepRow } from '../api/types.js';
import { FailureSummary } from '../components/failure-summary.js';
import { Link } from '../components/link.js';
import { PlanGraph } from '../components/plan-graph.js';
import { RunActions } from '../components/run-actions.js';
import { StatusBadge } from '../components/status-badge.js';
import { StepDetail } from '../components/step-detail.js';
import { StepsTable } from '../components/steps-table.js';
import { GanttPanel } from '../gantt/gantt-panel.js';
import { formatDuration, formatTime } from '../lib/format.js';
import { route, setQuery } from '../lib/router.js';
import { readOnly } from '../lib/session.js';
import { tabStream } from '../lib/tab-stream.js';
import { useNow } from '../lib/use-now.js';
import { EventLog } from '../log/event-log.js';
import { filterParams, readLogFilters } from '../log/log-filters.js';
import { useRunEvents } from '../log/use-run-events.js';

/** Replaces rows by key, keeping plan order; new keys (mapped copies appearing) go at the end. */
function mergeSteps(prev: readonly StepRow[], changed: readonly StepRow[]): StepRow[] {
  const index = new Map(prev.map((s, i) => [s.key, i]));
  const next = prev.slice();
  for (const s of changed) {
    const at = index.get(s.key);
    if (at === undefined) {
      index.set(s.key, next.length);
      next.push(s);
    } else next[at] = s;
  }
  return next;
}

/**
 * A run: header and actions, root failure, the Gantt (or the plan graph), the steps, the selected step with its
 * logs, and the event log. Live through the tab's one stream; selection, view, zoom and log filters in the URL.
 */
export function RunPage({ runId }: { readonly runId: string }) {
  const q = route.value.query;
  const selected = q.get('step') ?? undefined;
  const view = q.get('view') === 'graph' ? 'graph' : 'gantt';
  const expanded = (q.get('expand') ?? '').split(',').filter(Boolean);
  const filters = readLogFilters();
  const [detail, setDetail] = useState<RunDetailResponse>();
  const [steps, setSteps] = useState<StepRow[]>([]);
  const [error, setError] = useState<string>();
  const [ticked, setTicked] = useState<ReadonlySet<string>>(new Set());
  const [reload, setReload] = useState(0);
  const events = useRunEvents(runId, filters, detail?.run.runId === runId);
  const live = detail !== undefined && !detail.run.finished;
  const now = useNow(live);

  useEffect(() => {
    const abort = new AbortController();
    getJson<RunDetailResponse>(`/api/runs/${encodeURIComponent(runId)}`, abort.signal)
      .then((d) => {
        setDetail(d);
        setSteps(d.steps);
        setError(undefined);
        // The failed step is preselected, unless the URL already names one.
        const preselect = d.failure?.preselect;
        if (preselect && !new URLSearchParams(location.search).get('step')) setQuery({ step: preselect });
      })
      .catch((e: Error) => !abort.signal.aborted && setError(e.message));
    return () => abort.abort();
  }, [runId, reload]);

  // The stream starts once the event history is loaded, from its last seq: nothing missed, nothing twice.
  useEffect(() => {
    if (events.tailFrom === undefined) return;
    let first = true;
    return tabStream.open(
      { run: { id: runId, afterSeq: events.tailFrom, filters: filterParams(filters) } },
      {
        hello: () => {
          // Steps changed between the page's load and the stream's start are fetched again once.
          if (!first) return;
          first = false;
          setReload((r) => r + 1);
        },
        runEvents: (f) => {
          events.push(f.events, f.lastSeq);
          window.__stepwise?.arrivals?.push([f.lastSeq, Date.now()]);
        },
        steps: (f) => setSteps((prev) => mergeSteps(prev, f.steps)),
        run: (f) => setDetail((d) => (d ? { ...d, run: { ...d.run, ...f.run } } : d)),
      },
    );
  }, [runId, events.tailFrom]);

  // A run that just ended is read again: its failure summary and final step rows.
  const status = detail?.run.status;
  useEffect(() => {
    if (status === 'SUCCESS' || status === 'FAILURE' || status === 'CANCELED') setReload((r) => r + 1);
  }, [status]);

  const selectedStep = useMemo(() => steps.find((s) => s.key === selected), [steps, selected]);
  const span = useMemo(() => {
    let start = Number.POSITIVE_INFINITY;
    let end = 0;
    for (const s of steps) {
      if (s.startedAt !== undefined) start = Math.min(start, s.startedAt);
      end = Math.max(end, s.endedAt ?? (s.startedAt !== undefined ? now : 0));
    }
    return Number.isFinite(start) ? end - start : 1000;
  }, [steps, now]);

  if (error) return <div class="error-box">{error}</div>;
  if (!detail) return <p class="muted">Loading run {runId}…</p>;
  const run = detail.run;
  const select = (key: string) => setQuery({ step: key });
  return (
    <section data-testid="run-page" data-run={run.runId}>
      <div class="page-title">
        <h1 class="mono">{run.runId}</h1>
        <span data-testid="run-status">
          <StatusBadge status={run.status} />
        </span>
        <span class="muted">
          {run.pipeline} · created {formatTime(run.createdAt)} · {formatDuration(run.durationMs)}
        </span>
        {run.parentRunId && (
          <span data-testid="parent-run">
            re-execution of{' '}
            <Link to={`/runs/${encodeURIComponent(run.parentRunId)}`}>{run.parentRunId.slice(0, 12)}</Link>
          </span>
        )}
        {run.childRunIds.length > 0 && (
          <span>
            re-executed as{' '}
            {run.childRunIds.map((c) => (
              <Link key={c} to={`/runs/${encodeURIComponent(c)}`}>
                {c.slice(0, 12)}{' '}
              </Link>
            ))}
          </span>
        )}
        <RunActions run={run} hasFailure={detail.failure !== null} selection={[...ticked]} />
      </div>
      {detail.failure && detail.failure.rootSteps.length > 0 && (
        <FailureSummary failure={detail.failure} onSelect={select} />
      )}
      <div class="tabs">
        <button
          type="button"
          data-testid="view-gantt"
          class={view === 'gantt' ? 'active' : ''}
          onClick={() => setQuery({ view: undefined })}
        >
          Timeline
        </button>
        <button
          type="button"
          data-testid="view-graph"
          class={view === 'graph' ? 'active' : ''}
          onClick={() => setQuery({ view: 'graph' })}
        >
          Graph
        </button>
      </div>
      {view === 'gantt' ? (
        <GanttPanel steps={steps} now={now} selected={selected} onSelect={select} spanMs={span} />
      ) : (
        <PlanGraph
          path={`/api/runs/${encodeURIComponent(runId)}/graph`}
          expanded={expanded}
          onToggle={(k) =>
            setQuery({ expand: (expanded.includes(k) ? expanded.filter((x) => x !== k) : [...expanded, k]).join(',') })
          }
          selected={selected}
          onSelect={select}
          pollMs={live ? 3000 : undefined}
        />
      )}
      <div class="grid2" style={{ marginTop: '12px' }}>
        <StepsTable
          steps={steps}
          selected={selected}
          onSelect={select}
          now={now}
          {...(!readOnly.value && {
            ticked,
            onTick: (k: string) => {
              const next = new Set(ticked);
              if (next.has(k)) next.delete(k);
              else next.add(k);
              setTicked(next);
            },
          })}
        />
        {selectedStep ? (
          <StepDetail runId={runId} step={selectedStep} runLive={live} />
        ) : (
          <div class="panel muted">Select a step to see its logs.</div>
        )}
      </div>
      <h2 style={{ fontSize: '14px' }}>Events</h2>
      <EventLog
        store={events.store}
        version={events.version}
        loading={events.loading}
        error={events.error}
        filters={filters}
        selectedStep={selected}
        onSelectStep={select}
      />
    </section>
  );
}
