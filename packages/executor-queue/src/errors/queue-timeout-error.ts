import { StepwiseError } from '@stepwise/core';

/** A step waited in its queue longer than `queueTimeoutMs` and no worker took it. */
export class QueueTimeoutError extends StepwiseError {
  constructor(stepKey: string, queue: string, waitedMs: number, queueTimeoutMs: number) {
    super(
      'QUEUE_TIMEOUT',
      `step '${stepKey}' waited ${Math.round(waitedMs / 1000)} s in queue '${queue}' and no worker took it (queueTimeoutMs ${queueTimeoutMs}); start a worker with --queue ${queue}`,
      { misuse: false },
    );
  }
}
