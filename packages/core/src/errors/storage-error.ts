import { StepwiseError, type StepwiseErrorOptions } from './stepwise-error.js';

/** The instance's storage cannot be opened, read or written. */
export class StorageError extends StepwiseError {
  constructor(message: string, options?: StepwiseErrorOptions) {
    super('STORAGE_FAILED', message, options);
  }
}
