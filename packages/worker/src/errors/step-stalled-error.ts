import { StepwiseError } from '@stepwise/core';

/**
 * A step's job lock kept expiring because the worker's event loop was blocked (a CPU-bound step on the loop):
 * after `stalls` such losses the step fails instead of being handed from worker to worker for ever.
 */
export class StepStalledError extends StepwiseError {
  readonly stalls: number;
  constructor(stepKey: string, details: { stalls: number; lockDurationMs: number; lagMs?: number }) {
    const lag = details.lagMs === undefined ? '' : ` (last seen blocked for ${Math.round(details.lagMs)} ms)`;
    super(
      'STEP_STALLED',
      `step '${stepKey}' lost its worker's lock ${details.stalls} times because the worker's event loop was blocked${lag} longer than the lock could wait (${details.lockDurationMs} ms): run it off the event loop with \`stepwise worker --isolation thread\` (or process), or tag its op \`isolation: 'thread'\`, or raise --lock-duration above the step's longest blocking stretch`,
      { misuse: false },
    );
    this.stalls = details.stalls;
  }
}
