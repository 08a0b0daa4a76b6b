import type { TicksResponse } from '../api/types.js';
import { useApi } from '../lib/use-api.js';
import { Link } from './link.js';
import { StatusBadge } from './status-badge.js';

/** A schedule's ticks, newest first, with the runs they launched. */
export function TickHistory({ schedule }: { readonly schedule: string }) {
  const { data, error } = useApi<TicksResponse>(`/api/schedules/${encodeURIComponent(schedule)}/ticks?limit=50`, 5000);
  return (
    <div class="panel" style={{ marginTop: '12px' }} data-testid="tick-history">
      <h2>Ticks of {schedule}</h2>
      {error && <div class="error-box">{error.message}</div>}
      <table>
        <thead>
          <tr>
            <th>Scheduled at</th>
            <th>Status</th>
            <th>Runs</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {data?.ticks.map((t) => (
            <tr key={`${t.scheduledAt}:${t.attempt}`}>
              <td class="mono">{t.scheduledAt}</td>
              <td>
                <StatusBadge status={t.status} />
              </td>
              <td>
                {t.runIds.map((id) => (
                  <Link key={id} to={`/runs/${encodeURIComponent(id)}`} class="mono">
                    {id.slice(0, 12)}{' '}
                  </Link>
                ))}
              </td>
              <td>{t.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && data.ticks.length === 0 && <p class="muted">No tick yet.</p>}
    </div>
  );
}
