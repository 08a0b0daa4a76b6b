import { route, setQuery } from '../lib/router.js';

/** The event log's server-side filters, kept in the URL (`logStep`, `logType`, `logAttempt`, `logText`). */
export interface LogFilters {
  readonly stepKey: string;
  readonly type: string;
  readonly attempt: string;
  readonly text: string;
}

export function readLogFilters(): LogFilters {
  const q = route.value.query;
  return {
    stepKey: q.get('logStep') ?? '',
    type: q.get('logType') ?? '',
    attempt: q.get('logAttempt') ?? '',
    text: q.get('logText') ?? '',
  };
}

export function writeLogFilters(patch: Partial<LogFilters>): void {
  const map: Record<keyof LogFilters, string> = {
    stepKey: 'logStep',
    type: 'logType',
    attempt: 'logAttempt',
    text: 'logText',
  };
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(patch)) out[map[k as keyof LogFilters]] = v;
  setQuery(out);
}

/** As query parameters of the events route and of the stream's run topic. */
export function filterParams(f: LogFilters): Record<string, string | undefined> {
  return {
    stepKey: f.stepKey || undefined,
    type: f.type || undefined,
    attempt: f.attempt || undefined,
    text: f.text || undefined,
  };
}

export function filtersKey(f: LogFilters): string {
  return `${f.stepKey}\u0000${f.type}\u0000${f.attempt}\u0000${f.text}`;
}
