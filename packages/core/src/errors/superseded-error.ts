import { StepwiseError } from './stepwise-error.js';

/**
 * A coordinator's write for a run was refused: another coordinator took the run's lease since (a newer epoch).
 * Not misuse: the coordinator was slow or was taken over with `resume --force`, and stops.
 */
export class CoordinatorSupersededError extends StepwiseError {
  readonly runId: string;
  readonly epoch: number;
  readonly newerEpoch: number;

  constructor(runId: string, epoch: number, newerEpoch: number) {
    super(
      'COORDINATOR_SUPERSEDED',
      `run ${runId}: this coordinator (lease epoch ${epoch}) was superseded by another (epoch ${newerEpoch}); its writes are refused`,
      { misuse: false },
    );
    this.runId = runId;
    this.epoch = epoch;
    this.newerEpoch = newerEpoch;
  }
}
