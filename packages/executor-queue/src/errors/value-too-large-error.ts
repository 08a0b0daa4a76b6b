import { StepwiseError } from '@stepwise/core';

/** An output exceeds the Redis IO manager's size limit. */
export class ValueTooLargeError extends StepwiseError {
  constructor(what: string, bytes: number, limit: number) {
    super(
      'VALUE_TOO_LARGE',
      `${what} is ${bytes} bytes encoded, over the Redis IO manager's limit of ${limit}; store large data elsewhere (a blob store, or io.fs on a shared volume) and pass a reference, or raise io.redis.maxValueBytes`,
    );
  }
}
