import { StepwiseError } from '@stepwise/core';

/** A job payload or stream entry that is not what Stepwise writes: it is dead-lettered, never acted on. */
export class MalformedMessageError extends StepwiseError {
  constructor(message: string) {
    super('MALFORMED_MESSAGE', message);
  }
}
