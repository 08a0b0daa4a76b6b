import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api/client.js';
import type { QueueRow, WorkersResponse } from '../api/types.js';
import { Link } from '../components/link.js';
import { ago, formatDuration } from '../lib/format.js';
import { tabStream } from '../lib/tab-stream.js';
import { useNow } from '../lib/use-now.js';

const STATES: readonly (keyof QueueRow['counts'])[] = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'failed',
  'completed',
];

/** Live workers (slots, queues, running steps), lost ones, and each queue's depths by state; live over the stream. */
export function WorkersPage() {
  const [data, setData] = useState<WorkersResponse>();
  const [error, setError] = useState<string>();
  const now = useNow(true);
  useEffect(() => {
    getJson<WorkersResponse>('/api/workers')
      .then(setData)
      .catch((e: Error) => setError(e.message));
    return tabStream.open({ workers: true }, { workers: setData });
  }, []);
  if (error) return <div class="error-box">{error}</div>;
  if (!data) return <p class="muted">Loading workers…</p>;
  return (
    <section data-testid="workers-page">
      <div class="page-title">
        <h1>Workers</h1>
        <span class="muted">
          {data.workers.length} live · {data.lost.length} lost
        </span>
      </div>
      {!data.redis.configured && <p class="warn">No Redis configured: this instance runs no queue workers.</p>}
      {data.redis.error && <div class="error-box">Redis: {data.redis.error}</div>}
      <div class="panel">
        <h2>Queues</h2>
        <table data-testid="queues-table">
          <thead>
            <tr>
              <th>Queue</th>
              {STATES.map((s) => (
                <th key={s}>{s}</th>
              ))}
              <th>Workers</th>
              <th>Slots (free)</th>
            </tr>
          </thead>
          <tbody>
            {data.queues.map((q) => (
              <tr key={q.name} data-queue={q.name}>
                <td>
                  {q.name}{' '}
                  {q.noWorker && (
                    <span class="warn" data-testid="no-worker">
                      no worker serves this queue
                    </span>
                  )}
                </td>
                {STATES.map((s) => (
                  <td key={s}>{q.counts[s]}</td>
                ))}
                <td>{q.workers}</td>
                <td>
                  {q.slots} ({q.freeSlots})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="panel">
        <h2>Live workers</h2>
        <table data-testid="workers-table">
          <thead>
            <tr>
              <th>Worker</th>
              <th>Host / pid</th>
              <th>Queues</th>
              <th>Slots used / free</th>
              <th>Running</th>
              <th>Heartbeat</th>
              <th>Up</th>
            </tr>
          </thead>
          <tbody>
            {data.workers.map((w) => (
              <tr key={w.id} data-worker={w.id} data-state="live">
                <td class="mono">
                  {w.name}
                  {w.draining && <span class="warn"> draining</span>}
                </td>
                <td>
                  {w.host} / {w.pid}
                </td>
                <td>{w.queues.join(', ')}</td>
                <td>
                  {w.used} / {w.free}
                </td>
                <td>
                  {w.running.map((r) => (
                    <div key={`${r.runId}:${r.stepKey}:${r.attempt}`}>
                      <Link
                        to={`/runs/${encodeURIComponent(r.runId)}?step=${encodeURIComponent(r.stepKey)}`}
                        class="mono"
                      >
                        {r.stepKey}
                      </Link>{' '}
                      <span class="muted">{formatDuration(now - r.startedAt)}</span>
                    </div>
                  ))}
                </td>
                <td>{ago(w.heartbeatAt, now)}</td>
                <td>{formatDuration(now - w.startedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {data.workers.length === 0 && <p class="muted">No live worker.</p>}
      </div>
      {data.lost.length > 0 && (
        <div class="panel">
          <h2>Lost workers</h2>
          <table data-testid="lost-table">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Host</th>
                <th>Queues</th>
                <th>Last heartbeat</th>
                <th>Was running</th>
              </tr>
            </thead>
            <tbody>
              {data.lost.map((w) => (
                <tr key={w.id} data-worker={w.id} data-state="lost">
                  <td class="mono">{w.name}</td>
                  <td>{w.host}</td>
                  <td>{w.queues.join(', ')}</td>
                  <td>{ago(w.lastHeartbeatAt, now)}</td>
                  <td class="mono">{w.running.map((r) => r.stepKey).join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
