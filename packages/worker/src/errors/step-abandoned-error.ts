import { StepwiseError } from '@stepwise/core';
import { describeCause, type StopCause } from './step-killed-error.js';

/**
 * A step on the worker's own event loop (`--isolation none`) that outlived its cancel grace or its timeout: it
 * cannot be killed, so its attempt is failed and its slot released while its code may still run.
 */
export class StepAbandonedError extends StepwiseError {
  readonly stopCause: StopCause;
  constructor(stepKey: string, cause: StopCause, graceMs: number) {
    super(
      'STEP_ABANDONED',
      `step '${stepKey}' ${describeCause(cause)} and did not stop within ${graceMs} ms; it runs on the worker's event loop (--isolation none), which cannot kill it, so it was abandoned (its code may still run; \`stepwise workers\` lists it): run such ops with --isolation thread or process, or make them honour ctx.signal`,
      { misuse: false },
    );
    this.stopCause = cause;
  }
}
