import { StepTimedOutError, type StopCause } from './errors/index.js';

export interface StepWatchOptions {
  stepKey: string;
  /** Fires when the step's run is canceled. */
  cancel: AbortSignal;
  /** The step's time limit, and where it comes from (for messages); none when undefined. */
  timeout?: { ms: number; source: string };
  /** How long an aborted step gets to stop before it is killed (or abandoned). */
  graceMs: number;
  /** Called once, `graceMs` after the abort, if the step is still running then. */
  onOverdue: (cause: StopCause) => void;
  /** Default setTimeout/clearTimeout; a test passes its own. */
  timers?: { set: (fn: () => void, ms: number) => unknown; clear: (handle: unknown) => void };
}

const realTimers = {
  set: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clear: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * The deadlines of one running step: its abort (the run canceled, or its timeout reached) and, a grace period
 * later, the point where the worker stops waiting for it. `signal` is the step's ctx.signal.
 */
export class StepWatch {
  private readonly controller = new AbortController();
  private readonly timers: NonNullable<StepWatchOptions['timers']>;
  private readonly handles: unknown[] = [];
  private readonly onCancel: () => void;
  private done = false;
  private timing = false;
  cause?: StopCause;

  constructor(private readonly options: StepWatchOptions) {
    this.timers = options.timers ?? realTimers;
    this.onCancel = () => {
      const reason = options.cancel.reason;
      this.abort(
        { kind: 'canceled', reason: reason instanceof Error ? reason.message : String(reason) },
        reason instanceof Error ? reason : new Error(String(reason)),
      );
    };
    if (options.cancel.aborted) this.onCancel();
    else options.cancel.addEventListener('abort', this.onCancel, { once: true });
  }

  /**
   * The step started (its STEP_START): its timeout runs from now, so that time spent waiting for a pool member to
   * load its code does not count.
   */
  started(): void {
    const { timeout } = this.options;
    if (timeout && !this.timing && !this.done) {
      this.timing = true;
      this.handles.push(
        this.timers.set(() => {
          const cause: StopCause = { kind: 'timeout', timeoutMs: timeout.ms, source: timeout.source };
          this.abort(cause, new StepTimedOutError(this.options.stepKey, timeout.ms, timeout.source));
        }, timeout.ms),
      );
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The step is over: no more deadlines. */
  dispose(): void {
    this.done = true;
    this.options.cancel.removeEventListener('abort', this.onCancel);
    for (const handle of this.handles) this.timers.clear(handle);
    this.handles.length = 0;
  }

  private abort(cause: StopCause, reason: Error): void {
    if (this.done || this.cause) return;
    this.cause = cause;
    this.controller.abort(reason);
    this.handles.push(
      this.timers.set(() => {
        if (!this.done) this.options.onOverdue(cause);
      }, this.options.graceMs),
    );
  }
}
