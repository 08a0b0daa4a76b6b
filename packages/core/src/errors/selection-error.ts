import { StepwiseError } from './stepwise-error.js';

/** A step selection expression is malformed or names no step. */
export class SelectionError extends StepwiseError {
  constructor(message: string) {
    super('SELECTION_INVALID', message);
  }
}
