import { StepwiseError } from '@stepwise/core';

/** The queue executor cannot reach its Redis. */
export class RedisUnavailableError extends StepwiseError {
  constructor(message: string) {
    super('REDIS_UNAVAILABLE', message);
  }
}
