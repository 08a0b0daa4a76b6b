import { StepwiseError } from '@stepwise/core';

/** A started step's job vanished from Redis or ended without reporting an outcome. */
export class StepLostError extends StepwiseError {
  constructor(stepKey: string, jobState: string) {
    super(
      'STEP_LOST',
      jobState === 'unknown'
        ? `the job of step '${stepKey}' is gone from Redis (did Redis restart without persistence?); the step's outcome is unknown`
        : `the job of step '${stepKey}' ended as '${jobState}' without reporting an outcome`,
      { misuse: false },
    );
  }
}
