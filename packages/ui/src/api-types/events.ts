/** API events, SSE frames and the tab's one stream. Pure types (see ../api-types.ts). */

import type { WorkersResponse } from './operations.js';
import type { RunSummary, StepRow } from './runs.js';

// ---------------------------------------------------------------- events

export type EventType =
  | 'RUN_START'
  | 'RUN_SUCCESS'
  | 'RUN_FAILURE'
  | 'RUN_CANCELING'
  | 'RUN_CANCELED'
  | 'STEP_START'
  | 'STEP_INPUT'
  | 'STEP_OUTPUT'
  | 'STEP_SUCCESS'
  | 'STEP_FAILURE'
  | 'STEP_SKIPPED'
  | 'STEP_UP_FOR_RETRY'
  | 'STEP_RESTARTED'
  | 'LOG'
  | 'MATERIALIZATION'
  | 'ENGINE_EVENT';

export interface SerializedErrorJson {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: SerializedErrorJson;
}

/** Type-specific payloads (the library's EventDataMap). */
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
  STEP_FAILURE: { error: SerializedErrorJson; durationMs?: number };
  STEP_SKIPPED: { reason: string };
  STEP_UP_FOR_RETRY: { error: SerializedErrorJson; delayMs: number; nextAttempt: number };
  STEP_RESTARTED: { previousAttempt: number };
  LOG: { level: string; msg: string; fields?: Record<string, unknown> };
  MATERIALIZATION: { assetKey: string; description?: string; metadata?: Record<string, unknown> };
  ENGINE_EVENT: { kind: string; details?: Record<string, unknown> };
}

interface ApiEventBase<T extends EventType> {
  seq: number;
  type: T;
  runId: string;
  timestamp: number;
  stepKey?: string;
  attempt?: number;
  workerId?: string;
  message?: string;
  data: EventDataMap[T];
}

/** A stored event with its per-run seq (1, 2, ...). Text in it is text: render it as such, never as HTML. */
export type ApiEvent = { [T in EventType]: ApiEventBase<T> }[EventType];

/**
 * GET /api/runs/:id/events?afterSeq=N&limit=L&stepKey=K&type=T1,T2&attempt=A&text=S — seq order, seq > afterSeq.
 * `limit` 1..5000 (default 1000). `stepKey` matches exactly (repeat or comma-separate for several); `text` is a
 * case-insensitive substring of the message, the LOG msg, the error message or the step key.
 */
export interface EventsResponse {
  events: ApiEvent[];
  /** The last seq looked at (matched or not): the next page's `afterSeq`. */
  lastSeq: number;
  /** More events past `lastSeq` exist now. */
  hasMore: boolean;
}

/**
 * The same route with `Accept: text/event-stream`: a live tail. Each event is one SSE message
 * `event: event`, `id: <seq>`, `data: <ApiEvent JSON>`, written in batches about every 100 ms; the filters of
 * the JSON route apply. Resumed after `Last-Event-ID` (which wins over `afterSeq`) with no duplicate.
 * Also `event: run` with data {@link RunStatusFrame} when the run's status changes, and `: hb` comments every 15 s.
 */
export type RunEventsSseEvent = 'event' | 'run';

export interface RunStatusFrame {
  run: RunSummary;
}

// ---------------------------------------------------------------- the tab's one stream

/**
 * GET /api/stream?run=ID&afterSeq=N&stepKey=&type=&attempt=&text=&runs=1&workers=1 (Accept: text/event-stream):
 * the one stream a browser tab holds (browsers allow 6 connections per origin). Topics, each optional:
 * - `run=ID`: that run's events (filters as on the events route) as `run-events` frames whose SSE `id` is the last
 *   seq looked at, so `Last-Event-ID` resumes with no duplicate and no gap; its status as `run`; its changed steps
 *   as `steps`.
 * - `runs=1` (optionally with the list's `status`, `pipeline`, `tag` filters): `runs` frames with runs whose
 *   status or timestamps changed.
 * - `workers=1`: a `workers` frame whenever the workers page would change (every ~2 s at most).
 * `: hb` comments every 15 s. Frames are batched about every 100 ms. To change topics, open a new stream.
 */
export type StreamFrame =
  | { event: 'hello'; data: StreamHelloFrame }
  | { event: 'run-events'; data: RunEventsFrame }
  | { event: 'run'; data: RunStatusFrame }
  | { event: 'steps'; data: StepsFrame }
  | { event: 'runs'; data: RunsFrame }
  | { event: 'workers'; data: WorkersResponse };

export interface StreamHelloFrame {
  /** Where the run tail resumes (after Last-Event-ID / afterSeq), or null without `run`. */
  afterSeq: number | null;
  topics: Array<'run' | 'runs' | 'workers'>;
}

export interface RunEventsFrame {
  runId: string;
  /** Matching events of the batch (may be empty when filters dropped them all). */
  events: ApiEvent[];
  /** The last seq looked at; also the frame's SSE id. */
  lastSeq: number;
}

/** Steps whose row changed in the batch (full rows: replace by key). */
export interface StepsFrame {
  runId: string;
  steps: StepRow[];
}

/** Runs that changed (insert or replace by runId; the list's order is createdAt, newest first). */
export interface RunsFrame {
  runs: RunSummary[];
}
