import { StepwiseError } from './stepwise-error.js';

/** An op, resource or pipeline was declared with invalid options. */
export class DefinitionError extends StepwiseError {
  constructor(message: string) {
    super('DEFINITION_INVALID', message);
  }
}
