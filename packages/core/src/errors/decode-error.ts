import { StepwiseError, type StepwiseErrorOptions } from './stepwise-error.js';

/** Bytes read from storage, a queue or a stream are not a value Stepwise encoded (corrupt, truncated or foreign). */
export class DecodeError extends StepwiseError {
  constructor(message: string, options?: StepwiseErrorOptions) {
    super('DECODE_FAILED', message, options);
  }
}
