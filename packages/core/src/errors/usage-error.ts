import { StepwiseError, type StepwiseErrorOptions } from './stepwise-error.js';

/** A command or call was used wrongly: a malformed option, a missing argument, an operation the run's state forbids. */
export class UsageError extends StepwiseError {
  constructor(message: string, options?: StepwiseErrorOptions) {
    super('USAGE', message, options);
  }
}
