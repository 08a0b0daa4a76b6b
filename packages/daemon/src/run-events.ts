import { type EventDataMap, type Instance, makeEvent } from '@stepwise/core';

/** ENGINE_EVENT kinds the daemon records in a run's log (docs/daemon.md), so `runs show` and the UI tell the story. */
export type DaemonEventKind =
  | 'dequeued'
  | 'launched'
  | 'relaunched'
  | 'resumed_by_monitor'
  | 'max_runtime_exceeded'
  | 'start_timeout'
  | 'coordinator_lost'
  | 'launch_failed'
  | 'malformed_run';

export function recordDaemonEvent(
  instance: Instance,
  runId: string,
  kind: DaemonEventKind,
  message: string,
  details?: EventDataMap['ENGINE_EVENT']['details'],
): Promise<void> {
  const data = details === undefined ? { kind } : { kind, details };
  return instance.storage.appendEvents([makeEvent('ENGINE_EVENT', runId, data, { message })]);
}
