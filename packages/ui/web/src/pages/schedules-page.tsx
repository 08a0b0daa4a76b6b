import { useState } from 'preact/hooks';
import { postJson } from '../api/client.js';
import type { ScheduleStatusResponse, SchedulesResponse } from '../api/types.js';
import { StatusBadge } from '../components/status-badge.js';
import { TickHistory } from '../components/tick-history.js';
import { route, setQuery } from '../lib/router.js';
import { readOnly } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';

/** Schedules: status, next ticks, start/stop; the selected one's tick history. */
export function SchedulesPage() {
  const { data, error, reload } = useApi<SchedulesResponse>('/api/schedules', 5000);
  const [actionError, setActionError] = useState<string>();
  const selected = route.value.query.get('schedule') ?? undefined;
  const act = async (name: string, verb: 'start' | 'stop') => {
    setActionError(undefined);
    try {
      await postJson<ScheduleStatusResponse>(`/api/schedules/${encodeURIComponent(name)}/${verb}`);
      reload();
    } catch (e) {
      setActionError((e as Error).message);
    }
  };
  return (
    <section data-testid="schedules-page">
      <div class="page-title">
        <h1>Schedules</h1>
      </div>
      {error && <div class="error-box">{error.message}</div>}
      {actionError && <div class="error-box">{actionError}</div>}
      <table data-testid="schedules-table">
        <thead>
          <tr>
            <th>Schedule</th>
            <th>Pipeline</th>
            <th>Cron</th>
            <th>Status</th>
            <th>Next ticks</th>
            <th>Last tick</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.schedules.map((s) => (
            <tr
              key={s.name}
              class={`clickable${s.name === selected ? ' selected' : ''}`}
              data-schedule={s.name}
              onClick={() => setQuery({ schedule: s.name })}
            >
              <td>{s.name}</td>
              <td>{s.pipeline}</td>
              <td class="mono">
                {s.cron.join(' | ')} <span class="muted">{s.timezone}</span>
              </td>
              <td>
                <StatusBadge status={s.status} />
              </td>
              <td class="mono">
                {s.nextTicks.slice(0, 3).map((t) => (
                  <div key={t.utc}>{t.local}</div>
                ))}
              </td>
              <td>{s.lastTick ? `${s.lastTick.scheduledAt} ${s.lastTick.status}` : '–'}</td>
              <td>
                {!readOnly.value &&
                  (s.status === 'running' ? (
                    <button
                      type="button"
                      data-testid="schedule-stop"
                      onClick={(e) => {
                        e.stopPropagation();
                        void act(s.name, 'stop');
                      }}
                    >
                      Stop
                    </button>
                  ) : (
                    <button
                      type="button"
                      data-testid="schedule-start"
                      onClick={(e) => {
                        e.stopPropagation();
                        void act(s.name, 'start');
                      }}
                    >
                      Start
                    </button>
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && data.schedules.length === 0 && <p class="muted">The file defines no schedule.</p>}
      {selected && <TickHistory schedule={selected} />}
    </section>
  );
}
