import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, queryString } from '../api/client.js';
import type { EventsResponse } from '../api/types.js';
import { EventStore } from './event-store.js';
import { filterParams, filtersKey, type LogFilters } from './log-filters.js';

export interface RunEvents {
  readonly store: EventStore;
  /** Bumped when the store changes. */
  readonly version: number;
  readonly loading: boolean;
  readonly error: string | undefined;
  /** Seq the live tail starts after, once the history is loaded (undefined while loading). */
  readonly tailFrom: number | undefined;
  /** Feeds a batch from the stream. */
  readonly push: (events: EventsResponse['events'], lastSeq: number) => void;
}

const PAGE = 5000;

/**
 * The history of the run's events through the filters, page by page, then the live tail pushed by the stream.
 * Not before `enabled`: the run page loads its steps first, so the Gantt paints before 40,000 events are parsed.
 */
export function useRunEvents(runId: string, filters: LogFilters, enabled = true): RunEvents {
  const key = filtersKey(filters);
  const storeRef = useRef(new EventStore());
  const [version, setVersion] = useState(0);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const [tailFrom, setTailFrom] = useState<number>();

  useEffect(() => {
    if (!enabled) return;
    const store = new EventStore();
    storeRef.current = store;
    setVersion((v) => v + 1);
    setLoading(true);
    setTailFrom(undefined);
    const abort = new AbortController();
    (async () => {
      let after = 0;
      for (;;) {
        const page = await getJson<EventsResponse>(
          `/api/runs/${encodeURIComponent(runId)}/events${queryString({ ...filterParams(filters), afterSeq: after, limit: PAGE })}`,
          abort.signal,
        );
        store.append(page.events, page.lastSeq);
        setVersion((v) => v + 1);
        after = page.lastSeq;
        if (!page.hasMore) break;
      }
      setLoading(false);
      setError(undefined);
      setTailFrom(store.lastSeq);
    })().catch((e: Error) => {
      if (!abort.signal.aborted) {
        setError(e.message);
        setLoading(false);
      }
    });
    return () => abort.abort();
  }, [runId, key, enabled]);

  return {
    store: storeRef.current,
    version,
    loading,
    error,
    tailFrom,
    push: (events, lastSeq) => {
      if (storeRef.current.append(events, lastSeq) > 0) setVersion((v) => v + 1);
    },
  };
}
