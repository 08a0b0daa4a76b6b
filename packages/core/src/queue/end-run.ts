import { type EventDataMap, makeEvent } from '../events/events.js';
import type { Instance } from '../instance/instance.js';
import type { RunStatus } from '../storage/run-storage.js';

export interface EndRunOptions {
  /** The run ends only while in one of these statuses (a conditional update, so one caller decides). */
  from?: readonly RunStatus[];
  /**
   * And only while its last update is this one: how a run whose stored status is unknown (a hand edit, no status to
   * name in `from`) is ended by one caller.
   */
  updatedAt?: number;
  outcome: 'FAILURE' | 'CANCELED';
  /** The ENGINE_EVENT recorded before the end: what ended it (`start_timeout`, `launch_failed`, ...). */
  kind: string;
  message: string;
  details?: EventDataMap['ENGINE_EVENT']['details'];
  /** Clock of the recorded end. Default `Date.now`. */
  now?: () => number;
}

/**
 * Ends a run that no coordinator is running (queued, starting, or whose coordinator is gone): claims the end with
 * a conditional update, then records an ENGINE_EVENT naming the cause and RUN_FAILURE / RUN_CANCELED. False when
 * the run was no longer in `from` (someone else decided first).
 */
export async function endRunWithoutCoordinator(
  instance: Instance,
  runId: string,
  options: EndRunOptions,
): Promise<boolean> {
  // getRun, not getRunStatus: a malformed record must still be ended; its start time is then unknown.
  const run = await instance.storage.getRun(runId).catch(() => undefined);
  const now = (options.now ?? Date.now)();
  if (!options.from && options.updatedAt === undefined)
    throw new Error('endRunWithoutCoordinator: give from or updatedAt');
  const ended = await instance.storage.transitionRun(
    runId,
    {
      ...(options.from ? { status: options.from } : {}),
      ...(options.updatedAt !== undefined ? { updatedAt: options.updatedAt } : {}),
    },
    { status: options.outcome, endedAt: now },
  );
  if (!ended) return false;
  const durationMs = now - (run?.startedAt ?? now);
  const details = options.details === undefined ? {} : { details: options.details };
  await instance.storage.appendEvents([
    makeEvent('ENGINE_EVENT', runId, { kind: options.kind, ...details }, { message: options.message }),
    options.outcome === 'FAILURE'
      ? makeEvent(
          'RUN_FAILURE',
          runId,
          { durationMs, failedSteps: [], reason: options.message },
          { message: options.message },
        )
      : makeEvent('RUN_CANCELED', runId, { durationMs, reason: options.message }, { message: options.message }),
  ]);
  return true;
}
