/** Every event type a run records. */
export const EVENT_TYPES = [
  'RUN_START',
  'RUN_SUCCESS',
  'RUN_FAILURE',
  'RUN_CANCELING',
  'RUN_CANCELED',
  'STEP_START',
  'STEP_INPUT',
  'STEP_OUTPUT',
  'STEP_SUCCESS',
  'STEP_FAILURE',
  'STEP_SKIPPED',
  'STEP_UP_FOR_RETRY',
  'STEP_RESTARTED',
  'LOG',
  'MATERIALIZATION',
  'ENGINE_EVENT',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** An error as recorded in an event: plain data, stack included. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: SerializedError;
}

/** Type-specific payloads. */
export interface EventDataMap {
  RUN_START: { stepCount: number };
  RUN_SUCCESS: { durationMs: number };
  RUN_FAILURE: { durationMs: number; failedSteps: string[]; reason?: string };
  RUN_CANCELING: { reason?: string };
  RUN_CANCELED: { durationMs: number; reason?: string };
  STEP_START: { planKey?: string };
  STEP_INPUT: { input: string };
  STEP_OUTPUT: { output: string; mappingKey?: string };
  STEP_SUCCESS: { durationMs: number };
  STEP_FAILURE: { error: SerializedError; durationMs?: number };
  STEP_SKIPPED: { reason: string };
  STEP_UP_FOR_RETRY: { error: SerializedError; delayMs: number; nextAttempt: number };
  STEP_RESTARTED: { previousAttempt: number };
  LOG: { level: string; msg: string; fields?: Record<string, unknown> };
  MATERIALIZATION: { assetKey: string; description?: string; metadata?: Record<string, unknown> };
  ENGINE_EVENT: { kind: string; details?: Record<string, unknown> };
}

interface EventBase<T extends EventType> {
  type: T;
  runId: string;
  /** Epoch milliseconds when the event happened. */
  timestamp: number;
  stepKey?: string;
  attempt?: number;
  workerId?: string;
  message?: string;
  data: EventDataMap[T];
}

/** One entry of a run's event log. Plain data; travels as msgpack over Redis streams and JSON in storage. */
export type StepwiseEvent = { [T in EventType]: EventBase<T> }[EventType];

/** An event as read back from storage, with its per-run sequence number (1, 2, ...). */
export type StoredEvent = StepwiseEvent & { seq: number };

export type EventOf<T extends EventType> = Extract<StepwiseEvent, { type: T }>;

export function makeEvent<T extends EventType>(
  type: T,
  runId: string,
  data: EventDataMap[T],
  extra?: { stepKey?: string; attempt?: number; workerId?: string; message?: string },
): EventOf<T> {
  return { type, runId, timestamp: Date.now(), ...extra, data } as EventOf<T>;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const out: SerializedError = { name: error.name, message: error.message, stack: error.stack };
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    if (error.cause !== undefined) out.cause = serializeError(error.cause);
    return out;
  }
  return { name: 'NonError', message: typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error)) };
}
