import { StepwiseError } from './stepwise-error.js';

/** A stored run record cannot be read back (hand-edited or corrupt): a column is not what Stepwise writes. */
export class MalformedRunError extends StepwiseError {
  readonly runId: string;
  constructor(runId: string, message: string) {
    super('RUN_MALFORMED', `stored run '${runId}' is malformed: ${message}`);
    this.runId = runId;
  }
}
