import { randomUUID } from 'node:crypto';
import type { StepwiseEvent } from '../events/events.js';
import { defaultLogger } from './default-logger.js';
import type { ExecuteOptions } from './execute-pipeline.js';
import type { RunResult } from './run-result.js';

/** A run in progress. */
export interface RunHandle {
  readonly runId: string;
  readonly result: Promise<RunResult>;
  /** Every event of the run, as it happens; ends when the run ends. Call before awaiting anything. */
  events(): AsyncIterableIterator<StepwiseEvent>;
  cancel(reason?: string): void;
}

export interface HandleParts {
  runId: string;
  signal: AbortSignal;
  publish: (event: StepwiseEvent) => void;
}

/** Wires the async iterator, cancellation and the user's onEvent around a run body. */
export function startHandle(
  options: Pick<ExecuteOptions, 'runId' | 'signal' | 'onEvent' | 'logger'>,
  body: (parts: HandleParts) => Promise<RunResult>,
): RunHandle {
  const runId = options.runId ?? randomUUID();
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const subscribers = new Set<EventQueue>();
  const publish = (event: StepwiseEvent) => {
    for (const s of subscribers) s.push(event);
    if (options.onEvent) {
      try {
        options.onEvent(event);
      } catch (error) {
        (options.logger ?? defaultLogger()).error({ err: error }, 'onEvent callback threw; ignoring');
      }
    }
  };
  const result = (async () => {
    await Promise.resolve();
    return body({ runId, signal: controller.signal, publish });
  })();
  result.then(
    () => {
      for (const s of subscribers) s.end();
      options.signal?.removeEventListener('abort', onAbort);
    },
    (error) => {
      for (const s of subscribers) s.fail(error);
      options.signal?.removeEventListener('abort', onAbort);
    },
  );
  return {
    runId,
    result,
    events() {
      const queue = new EventQueue(() => subscribers.delete(queue));
      subscribers.add(queue);
      return queue;
    },
    cancel(reason = 'canceled by caller') {
      controller.abort(new Error(reason));
    },
  };
}

/** An unbounded async queue of events for one `events()` iterator. */
class EventQueue implements AsyncIterableIterator<StepwiseEvent> {
  private readonly buffer: StepwiseEvent[] = [];
  private waiting?: { resolve: (r: IteratorResult<StepwiseEvent>) => void; reject: (e: unknown) => void };
  private done = false;
  private error: unknown;

  constructor(private readonly detach: () => void) {}

  push(event: StepwiseEvent): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: event, done: false });
    } else this.buffer.push(event);
  }

  end(): void {
    this.done = true;
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = undefined;
  }

  fail(error: unknown): void {
    this.error = error;
    this.done = true;
    this.waiting?.reject(error);
    this.waiting = undefined;
  }

  next(): Promise<IteratorResult<StepwiseEvent>> {
    const value = this.buffer.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.done) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<StepwiseEvent>> {
    this.done = true;
    this.detach();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StepwiseEvent> {
    return this;
  }
}
