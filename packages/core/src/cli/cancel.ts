import { setTimeout as sleep } from 'node:timers/promises';
import { makeEvent } from '../events/events.js';
import { TERMINAL_RUN_STATUSES } from '../storage/run-storage.js';
import { EXIT } from './errors.js';
import { getRunOrThrow, parsePositiveInt, withInstance } from './options.js';

export interface CancelOptions {
  /** Wait until the run has ended, up to `timeout` seconds. */
  wait?: boolean;
  timeout?: string;
  /** Mark the run CANCELED at once, for a run whose coordinator is gone. */
  force?: boolean;
}

/**
 * `stepwise cancel RUN_ID`: asks the run's coordinator to cancel by setting the stored status to CANCELING (the
 * coordinator polls storage and aborts its steps). An unknown run is an error (exit 2); a run that has already
 * ended is left alone with a message, and exits 0, since there is nothing left to cancel.
 */
export function cancelCommand(runId: string, opts: CancelOptions): Promise<number> {
  const timeoutMs = (opts.timeout === undefined ? 30 : parsePositiveInt(opts.timeout, '--timeout')) * 1_000;
  return withInstance(async (instance) => {
    const run = await getRunOrThrow(instance, runId);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) {
      process.stdout.write(`run ${runId} has already ended (${run.status}); nothing to cancel\n`);
      return EXIT.success;
    }
    if (opts.force || run.status === 'QUEUED') {
      // Nobody executes it (queued, or its coordinator died): record the end here.
      const now = Date.now();
      const reason = opts.force ? 'canceled with --force' : 'canceled before it started';
      await instance.storage.appendEvents([
        makeEvent('RUN_CANCELED', runId, { durationMs: now - (run.startedAt ?? now), reason }, { message: reason }),
      ]);
      await instance.storage.updateRun(runId, { status: 'CANCELED', endedAt: now });
      process.stdout.write(`run ${runId} marked CANCELED\n`);
      return EXIT.success;
    }
    if (run.status !== 'CANCELING') await instance.storage.updateRun(runId, { status: 'CANCELING' });
    process.stdout.write(`cancel requested for run ${runId}\n`);
    if (!opts.wait) return EXIT.success;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await sleep(250);
      const now = await instance.storage.getRun(runId);
      if (now && TERMINAL_RUN_STATUSES.includes(now.status)) {
        process.stdout.write(`run ${runId} ${now.status}\n`);
        return EXIT.success;
      }
    }
    process.stderr.write(
      `stepwise: run ${runId} has not ended after ${timeoutMs / 1_000} s; if its coordinator is gone, use: stepwise cancel --force ${runId}\n`,
    );
    return EXIT.runFailed;
  });
}
