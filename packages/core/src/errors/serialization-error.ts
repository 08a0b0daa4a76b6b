import { StepwiseError } from './stepwise-error.js';

/** A step output holds a value that cannot cross the wire (a function, a symbol, a class instance). Fails the step. */
export class SerializationError extends StepwiseError {
  constructor(message: string) {
    super('VALUE_NOT_SERIALIZABLE', message, { misuse: false });
  }
}
