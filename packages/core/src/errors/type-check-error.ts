import { StepwiseError } from './stepwise-error.js';

/** A step's input or output value does not match its declared schema. Fails the step, not the run setup. */
export class TypeCheckError extends StepwiseError {
  constructor(message: string) {
    super('TYPE_CHECK_FAILED', message, { misuse: false });
  }
}
