import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api/client.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly loading: boolean;
  readonly reload: () => void;
}

/**
 * GETs `path` when it changes (aborting the previous call) and again every `pollMs` when given; keeps showing the
 * last answer while the next loads, so a live page does not flicker.
 */
export function useApi<T>(path: string | undefined, pollMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === undefined) return;
    const abort = new AbortController();
    setLoading(true);
    getJson<T>(path, abort.signal)
      .then((d) => {
        setData(d);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (pollMs) timer = setTimeout(() => setTick((t) => t + 1), pollMs);
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [path, tick, pollMs]);
  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}
