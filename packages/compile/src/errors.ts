import { StepwiseError } from '@stepwise/core';

/** A pipeline, config or instance that cannot be compiled for another scheduler; the message names the fix. */
export class CompileError extends StepwiseError {
  constructor(message: string) {
    super('COMPILE_REFUSED', message);
  }
}
