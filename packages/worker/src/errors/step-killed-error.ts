import { StepwiseError } from '@stepwise/core';

/** Why a worker stopped a step the hard way. */
export type StopCause = { kind: 'canceled'; reason: string } | { kind: 'timeout'; timeoutMs: number; source: string };

export function describeCause(cause: StopCause): string {
  return cause.kind === 'canceled'
    ? `was aborted (${cause.reason})`
    : `exceeded its timeout of ${cause.timeoutMs} ms (${cause.source})`;
}

/** A step that outlived its cancel grace or its timeout: its thread was terminated, or its process SIGKILLed. */
export class StepKilledError extends StepwiseError {
  readonly stopCause: StopCause;
  constructor(stepKey: string, member: string, cause: StopCause, graceMs: number) {
    super(
      'STEP_KILLED',
      `step '${stepKey}' ${describeCause(cause)} and did not stop within ${graceMs} ms, so its ${member} was killed; make it honour ctx.signal, or give it more time (the op's timeoutMs, the worker's --step-timeout or --cancel-grace)`,
      { misuse: false },
    );
    this.stopCause = cause;
  }
}
