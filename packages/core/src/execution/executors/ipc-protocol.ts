import { StepwiseError } from '../../errors/index.js';
import type { SerializedError, StepwiseEvent } from '../../events/events.js';
import type { OutputRef, StepTask } from '../../plan/plan.js';

/** A value or request could not cross between a step process and its coordinator (gone, or not cloneable). */
export class StepProcessIpcError extends StepwiseError {
  constructor(message: string) {
    super('STEP_PROCESS_IPC_FAILED', message, { misuse: false });
  }
}

/**
 * Messages between the multiprocess executor (parent) and its step processes (children).
 * They travel over the fork IPC channel with `serialization: 'advanced'` (structured clone), so values keep
 * Dates, Maps, typed arrays and bigints.
 */

/** First message to a child: which code to load and how to behave. */
export interface InitMessage {
  type: 'init';
  /** Absolute path of the module that declares the pipeline. */
  file: string;
  /**
   * The one run (and pipeline) a multiprocess executor's child serves. Left out by a worker's pool member, which
   * serves any pipeline of the file: each run message names its pipeline (the worker checked its fingerprint).
   */
  run?: {
    runId: string;
    pipeline: string;
    /** The parent's plan fingerprint; a child whose code differs refuses every step. */
    fingerprint: string;
  };
  /** Recorded on the events of the steps it runs. Default `<host>/<pid>`. */
  workerId?: string;
  /** Level of the child's pino logger (the parent logger's level). */
  logLevel: string;
  /** The parent records compute logs: send `ctx.log` lines to stderr so they reach them. */
  captureLogs: boolean;
}

/** Run one attempt of one step. A child runs one step at a time. */
export interface RunMessage {
  type: 'run';
  task: StepTask;
  /** The pipeline to run it with, for a child that serves any pipeline of its file (see InitMessage.run). */
  pipeline?: string;
  attempt: number;
  resourceConfig: Record<string, unknown>;
}

/** Abort the current step: its `ctx.signal` fires with `reason`. */
export interface AbortMessage {
  type: 'abort';
  reason: string;
}

/** Answer to an {@link IORequestMessage}. */
export type IOResultMessage =
  | { type: 'io-result'; id: number; ok: true; value?: unknown }
  | { type: 'io-result'; id: number; ok: false; error: SerializedError };

/** Tear down resources and exit. */
export interface ExitMessage {
  type: 'exit';
}

export type ParentMessage = InitMessage | RunMessage | AbortMessage | IOResultMessage | ExitMessage;

/** One event of the current step, in emission order. */
export interface EventMessage {
  type: 'event';
  event: StepwiseEvent;
}

/** The current step is over (its terminal event was sent before this); the child is free. */
export interface DoneMessage {
  type: 'done';
}

/** The child's IO manager proxies every call to the parent's IO manager. */
export type IORequestMessage =
  | { type: 'io'; id: number; op: 'store'; ref: OutputRef; value: unknown }
  | { type: 'io'; id: number; op: 'load' | 'has'; ref: OutputRef };

/** The child loaded its code (or failed to: its steps then fail): it runs a step as soon as it gets one. */
export interface ReadyMessage {
  type: 'ready';
}

export type ChildMessage = EventMessage | DoneMessage | IORequestMessage | ReadyMessage;
