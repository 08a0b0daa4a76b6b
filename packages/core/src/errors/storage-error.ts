import { StepwiseError } from './stepwise-error.js';

/** The instance's storage cannot be opened, read or written. */
export class StorageError extends StepwiseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORAGE_FAILED', message, options);
  }
}
