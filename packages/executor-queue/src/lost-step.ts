import { makeEvent, type RetryPolicy, retryDelayMs, type StepwiseEvent, serializeError } from '@stepwise/core';
import { StepLostError } from './errors/index.js';
import type { InFlight } from './in-flight.js';

/**
 * The events that end a lost step's attempt: the ENGINE_EVENT `step_lost`, then STEP_UP_FOR_RETRY while its retry
 * policy allows another attempt (the run dispatches it), else STEP_FAILURE. Whatever the attempt sends later is
 * stale (RunState never applies it). `vanished`: Redis lost the run's data.
 */
export function lostStepEvents(
  runId: string,
  entry: InFlight,
  policy: RetryPolicy | undefined,
  vanished: boolean,
): StepwiseEvent[] {
  const { task, attempt, jobId } = entry;
  const error = new StepLostError(task.key, 'unknown');
  const details = {
    jobId,
    attempt,
    vanished,
    started: entry.startedAt !== undefined,
    workerId: entry.workerId ?? null,
  };
  const meta = { stepKey: task.key, attempt, message: error.message };
  const lost = makeEvent(
    'ENGINE_EVENT',
    runId,
    { kind: 'step_lost', details },
    { stepKey: task.key, message: error.message },
  );
  if (policy && attempt <= policy.maxRetries) {
    const delayMs = retryDelayMs(policy, attempt);
    const data = { error: serializeError(error), delayMs, nextAttempt: attempt + 1 };
    return [lost, makeEvent('STEP_UP_FOR_RETRY', runId, data, meta)];
  }
  return [lost, makeEvent('STEP_FAILURE', runId, { error: serializeError(error) }, meta)];
}

/** BullMQ found a started step's job stalled and handed it to another worker, as `newAttempt`: the first is gone. */
export function workerLostEvent(
  runId: string,
  entry: InFlight,
  newAttempt: number,
  newWorker: string | undefined,
): StepwiseEvent {
  const { task, attempt, workerId } = entry;
  const message = `worker ${workerId ?? '(unknown)'} was lost while running step '${task.key}' (attempt ${attempt}); it runs again as attempt ${newAttempt} on ${newWorker ?? 'another worker'}`;
  const details = { lostWorker: workerId ?? null, attempt, newAttempt };
  return makeEvent('ENGINE_EVENT', runId, { kind: 'worker_lost', details }, { stepKey: task.key, message });
}
