import { useEffect, useState } from 'preact/hooks';

/** The current time, ticking every `ms` while `live` (running bars and durations grow). */
export function useNow(live: boolean, ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [live, ms]);
  return now;
}
