import { StepwiseError } from '@stepwise/core';

/** The abort reason a step's ctx.signal carries when the step ran past its timeout. */
export class StepTimedOutError extends StepwiseError {
  constructor(stepKey: string, timeoutMs: number, source: string) {
    super('STEP_TIMED_OUT', `step '${stepKey}' exceeded its timeout of ${timeoutMs} ms (${source})`, {
      misuse: false,
    });
  }
}
