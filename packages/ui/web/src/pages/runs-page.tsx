import { useEffect, useState } from 'preact/hooks';
import { getJson, queryString } from '../api/client.js';
import type { RunStatus, RunSummary, RunsListResponse } from '../api/types.js';
import { CommitInput } from '../components/commit-input.js';
import { Link } from '../components/link.js';
import { StatusBadge } from '../components/status-badge.js';
import { formatDuration, formatTime } from '../lib/format.js';
import { route, setQuery } from '../lib/router.js';
import { tabStream } from '../lib/tab-stream.js';

const STATUSES: readonly RunStatus[] = ['QUEUED', 'STARTING', 'STARTED', 'CANCELING', 'SUCCESS', 'FAILURE', 'CANCELED'];

/** Does a run pushed by the stream belong in the filtered list? (the server filters too; this keeps both equal) */
function matches(run: RunSummary, status: string, pipeline: string, tag: string): boolean {
  if (status && !status.split(',').includes(run.status)) return false;
  if (pipeline && run.pipeline !== pipeline) return false;
  if (tag) {
    const at = tag.indexOf('=');
    const [k, v] = at < 0 ? [tag, undefined] : [tag.slice(0, at), tag.slice(at + 1)];
    if (!(k in run.tags) || (v !== undefined && run.tags[k] !== v)) return false;
  }
  return true;
}

/** The runs list: filters in the URL (`?status=&pipeline=&tag=k=v`), kept live by the tab stream. */
export function RunsPage() {
  const q = route.value.query;
  const status = q.get('status') ?? '';
  const pipeline = q.get('pipeline') ?? '';
  const tag = q.get('tag') ?? '';
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [error, setError] = useState<string>();

  useEffect(() => {
    const filters = { status, pipeline, tag };
    const abort = new AbortController();
    getJson<RunsListResponse>(`/api/runs${queryString({ ...filters, limit: 200 })}`, abort.signal)
      .then((r) => {
        setRuns(r.runs);
        setError(undefined);
      })
      .catch((e: Error) => !abort.signal.aborted && setError(e.message));
    const stop = tabStream.open(
      { runs: filters },
      {
        runs: (f) =>
          setRuns((prev) => {
            const byId = new Map(prev.map((r) => [r.runId, r]));
            for (const r of f.runs) {
              if (matches(r, status, pipeline, tag)) byId.set(r.runId, r);
              else byId.delete(r.runId);
            }
            return [...byId.values()].sort((a, b) => b.createdAt - a.createdAt);
          }),
      },
    );
    return () => {
      abort.abort();
      stop();
    };
  }, [status, pipeline, tag]);

  const pipelines = [...new Set(runs.map((r) => r.pipeline))].sort();
  return (
    <section>
      <div class="page-title">
        <h1>Runs</h1>
        <span class="muted">{runs.length} shown</span>
      </div>
      <div class="toolbar">
        <label>
          Status{' '}
          <select
            data-testid="filter-status"
            value={status}
            onChange={(e) => setQuery({ status: e.currentTarget.value })}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <span>
          Pipeline{' '}
          <CommitInput
            testId="filter-pipeline"
            list="pipelines-seen"
            value={pipeline}
            onCommit={(v) => setQuery({ pipeline: v })}
          />
          <datalist id="pipelines-seen">
            {pipelines.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </span>
        <span>
          Tag{' '}
          <CommitInput testId="filter-tag" placeholder="key=value" value={tag} onCommit={(v) => setQuery({ tag: v })} />
        </span>
        {(status || pipeline || tag) && (
          <button type="button" onClick={() => setQuery({ status: undefined, pipeline: undefined, tag: undefined })}>
            Clear filters
          </button>
        )}
      </div>
      {error && <div class="error-box">{error}</div>}
      <table data-testid="runs-table">
        <thead>
          <tr>
            <th>Run</th>
            <th>Pipeline</th>
            <th>Status</th>
            <th>Created</th>
            <th>Duration</th>
            <th>Tags</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.runId} data-run={r.runId}>
              <td>
                <Link to={`/runs/${encodeURIComponent(r.runId)}`} class="mono">
                  {r.runId.slice(0, 12)}
                </Link>
                {r.parentRunId && <span class="muted"> ↳ re-run</span>}
              </td>
              <td>{r.pipeline}</td>
              <td>
                <StatusBadge status={r.status} />
                {r.orphaned && <span class="warn"> orphaned</span>}
              </td>
              <td>{formatTime(r.createdAt)}</td>
              <td>{formatDuration(r.startedAt !== null ? (r.endedAt ?? Date.now()) - r.startedAt : null)}</td>
              <td class="mono">
                {Object.entries(r.tags)
                  .filter(([k]) => !k.startsWith('stepwise/'))
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.length === 0 && !error && <p class="muted">No runs match.</p>}
    </section>
  );
}
