import { StepwiseError } from './stepwise-error.js';

/** Who holds a run's coordinator lease, as a refused resume names it. */
export interface LeaseHolder {
  host: string;
  pid: number;
  /** Milliseconds since its last heartbeat. */
  heartbeatAgeMs: number;
}

/** `resume` of a run whose coordinator is alive: its lease has not expired. */
export class RunLeaseHeldError extends StepwiseError {
  readonly holder: LeaseHolder;

  constructor(runId: string, holder: LeaseHolder) {
    const age = (holder.heartbeatAgeMs / 1000).toFixed(1);
    super(
      'RUN_LEASE_HELD',
      `run ${runId} is being coordinated by pid ${holder.pid} on ${holder.host} (last heartbeat ${age} s ago); wait for it to end, or take the run over with: stepwise resume ${runId} --force`,
    );
    this.holder = holder;
  }
}
