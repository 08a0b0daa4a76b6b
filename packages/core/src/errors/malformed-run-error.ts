import { StepwiseError } from './stepwise-error.js';

/** A stored run record cannot be read back (hand-edited or corrupt): a column is not what Stepwise writes. */
export class MalformedRunError extends StepwiseError {
  readonly runId: string;
  /** What is wrong, without the run id (for a listing that names the run itself). */
  readonly problem: string;
  /** The row's `updated_at`, when readable: a conditional update on it ends the run without reading it whole. */
  readonly updatedAt?: number;
  constructor(runId: string, problem: string, row?: { updatedAt?: number }) {
    super('RUN_MALFORMED', `stored run '${runId}' is malformed: ${problem}`);
    this.runId = runId;
    this.problem = problem;
    if (row?.updatedAt !== undefined && Number.isFinite(row.updatedAt)) this.updatedAt = row.updatedAt;
  }
}
