import type { DaemonsResponse } from '../api/types.js';
import { ago, formatDuration } from '../lib/format.js';
import { useApi } from '../lib/use-api.js';

/** Daemons and the health of each loop (last iteration, its duration and error). */
export function DaemonsPage() {
  const { data, error } = useApi<DaemonsResponse>('/api/daemons', 3000);
  const now = Date.now();
  return (
    <section data-testid="daemons-page">
      <div class="page-title">
        <h1>Daemons</h1>
      </div>
      {error && <div class="error-box">{error.message}</div>}
      {data && data.daemons.length === 0 && <p class="warn">No daemon is running: queued runs and schedules wait.</p>}
      {data?.daemons.map((d) => (
        <div class="panel" key={d.daemonId} data-daemon={d.daemonId}>
          <h2>
            {d.host} pid {d.pid}{' '}
            <span class={`status status-${d.alive ? 'SUCCESS' : 'FAILURE'}`}>
              {d.alive ? 'healthy' : 'no heartbeat'}
            </span>
          </h2>
          <div class="muted">
            up {formatDuration(now - d.startedAt)} · last beat {ago(d.updatedAt, now)}
          </div>
          <table>
            <thead>
              <tr>
                <th>Loop</th>
                <th>Interval</th>
                <th>Last iteration</th>
                <th>Took</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(d.loops).map(([name, l]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td>{formatDuration(l.intervalMs)}</td>
                  <td>{l.lastIterationAt ? ago(l.lastIterationAt, now) : '–'}</td>
                  <td>{formatDuration(l.lastDurationMs)}</td>
                  <td class="mono">{l.lastError ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
