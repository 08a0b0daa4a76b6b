/** Tags the run queue reads (docs/daemon.md). */

/** The run's priority in the run queue: an integer, higher first (default 0). `stepwise submit --priority N`. */
export const PRIORITY_TAG = 'stepwise/priority';

/** A run that has been STARTED for longer than this many ms is canceled by run monitoring. */
export const MAX_RUNTIME_TAG = 'stepwise/max-runtime-ms';

/** A run's priority from its tags: the integer in {@link PRIORITY_TAG}, 0 when absent or not an integer. */
export function runPriority(tags: Readonly<Record<string, string>>): number {
  const value = tags[PRIORITY_TAG];
  if (value === undefined) return 0;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : 0;
}
