import { StepwiseError } from './stepwise-error.js';

/** A named thing (pipeline, run, step, file) does not exist. */
export class NotFoundError extends StepwiseError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}
