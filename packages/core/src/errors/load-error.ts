import { StepwiseError, type StepwiseErrorOptions } from './stepwise-error.js';

/** A pipeline/repository file could not be loaded (missing, syntax error, throws on import). */
export class LoadError extends StepwiseError {
  constructor(message: string, options?: StepwiseErrorOptions) {
    super('LOAD_FAILED', message, options);
  }
}
