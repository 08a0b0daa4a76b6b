import { makeEvent, type StepwiseEvent } from '../events/events.js';

/** The ENGINE_EVENT kind a stale step event is recorded as. */
export const STALE_EVENT = 'stale_event';

/**
 * What the log records of a step event the run state did not apply because its attempt is over (declared lost,
 * replaced by a newer attempt, or the step already ended): an ENGINE_EVENT `stale_event` carrying the event, so the
 * stored log never holds two outcomes for one attempt, nor a STEP_SUCCESS the run did not apply.
 */
export function recordAsStale(event: StepwiseEvent): StepwiseEvent {
  const { type, attempt, workerId, timestamp, data } = event;
  const message = `ignored a late ${type} of step '${event.stepKey}' (attempt ${attempt ?? '?'}${workerId ? ` on ${workerId}` : ''}): that attempt is over`;
  return makeEvent(
    'ENGINE_EVENT',
    event.runId,
    { kind: STALE_EVENT, details: { event: { type, attempt, workerId, timestamp, data } } },
    { stepKey: event.stepKey, message, ...(workerId === undefined ? {} : { workerId }) },
  );
}

/** The step event a stored `stale_event` carries, as it was received (to recognise it delivered again). */
export function staleOriginal(stored: StepwiseEvent): StepwiseEvent | undefined {
  if (stored.type !== 'ENGINE_EVENT' || stored.data.kind !== STALE_EVENT) return undefined;
  const carried = stored.data.details?.event as Omit<StepwiseEvent, 'runId' | 'stepKey'> | undefined;
  if (!carried || typeof carried.type !== 'string') return undefined;
  return { ...carried, runId: stored.runId, stepKey: stored.stepKey } as StepwiseEvent;
}
