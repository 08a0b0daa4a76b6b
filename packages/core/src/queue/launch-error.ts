import { StepwiseError, type StepwiseErrorOptions } from '../errors/stepwise-error.js';

export type LaunchErrorCode = 'RUN_NOT_STARTING' | 'LAUNCH_FAILED';

/**
 * A launcher could not start a dequeued run. RUN_NOT_STARTING: the run is not waiting to start (canceled, or
 * another launcher started it: nothing is done). LAUNCH_FAILED: its code location no longer loads, its code
 * changed, or its stored config no longer validates; the run has been failed with the cause.
 */
export class LaunchError extends StepwiseError {
  constructor(code: LaunchErrorCode, message: string, options?: StepwiseErrorOptions) {
    super(code, message, { misuse: code === 'RUN_NOT_STARTING', ...options });
  }
}
