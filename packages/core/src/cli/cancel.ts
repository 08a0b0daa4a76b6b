import { cancelRun, waitForRunEnd } from '../runs/cancel-run.js';
import { EXIT } from './errors.js';
import { parsePositiveInt, withInstance } from './options.js';

export interface CancelOptions {
  /** Wait until the run has ended, up to `timeout` seconds. */
  wait?: boolean;
  timeout?: string;
  /** Mark the run CANCELED at once, for a run whose coordinator is gone. */
  force?: boolean;
}

/**
 * `stepwise cancel RUN_ID` (see cancelRun). An unknown run is an error (exit 2); a run that has already ended is
 * left alone with a message, and exits 0, since there is nothing left to cancel.
 */
export function cancelCommand(runId: string, opts: CancelOptions): Promise<number> {
  const timeoutMs = (opts.timeout === undefined ? 30 : parsePositiveInt(opts.timeout, '--timeout')) * 1_000;
  return withInstance(async (instance) => {
    const { action, status } = await cancelRun(instance, runId, { force: opts.force });
    if (action === 'ended') {
      process.stdout.write(`run ${runId} has already ended (${status}); nothing to cancel\n`);
      return EXIT.success;
    }
    if (action === 'canceled') {
      process.stdout.write(`run ${runId} marked CANCELED\n`);
      return EXIT.success;
    }
    process.stdout.write(`cancel requested for run ${runId}\n`);
    if (!opts.wait) return EXIT.success;
    const ended = await waitForRunEnd(instance, runId, { timeoutMs });
    if (ended) {
      process.stdout.write(`run ${runId} ${ended}\n`);
      return EXIT.success;
    }
    process.stderr.write(
      `stepwise: run ${runId} has not ended after ${timeoutMs / 1_000} s; if its coordinator is gone, use: stepwise cancel --force ${runId}\n`,
    );
    return EXIT.runFailed;
  });
}
