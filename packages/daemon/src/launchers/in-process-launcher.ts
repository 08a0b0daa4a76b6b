import {
  codeLocationOf,
  LaunchError,
  loadCodeLocation,
  type RunHandle,
  type RunRecord,
  startResume,
  startStoredRun,
} from '@stepwise/core';
import type { LaunchDetails, LauncherContext, RunLauncher } from './run-launcher.js';

/** `runLauncher: { inProcess: {} }`: each run's coordinator runs in the daemon's own process. */
export class InProcessLauncher implements RunLauncher {
  readonly kind = 'inProcess';
  private readonly running = new Map<string, RunHandle>();

  constructor(private readonly context: LauncherContext) {}

  async launch(run: RunRecord): Promise<LaunchDetails> {
    this.follow(run.runId, startStoredRun(this.context.instance, run.runId, { logger: this.context.logger }));
    return { pid: process.pid };
  }

  async resume(run: RunRecord): Promise<LaunchDetails> {
    const { pipeline } = await loadCodeLocation(codeLocationOf(run));
    this.follow(
      run.runId,
      startResume(pipeline, run.runId, { instance: this.context.instance, logger: this.context.logger }),
    );
    return { pid: process.pid };
  }

  private follow(runId: string, handle: RunHandle): void {
    const { logger, onRunEnded } = this.context;
    this.running.set(runId, handle);
    handle.result
      .then(
        (result) => logger.info({ runId, status: result.status }, 'run ended'),
        (error) => {
          // A launch that found the run canceled or already started did nothing; anything else is recorded on the run.
          const quiet = error instanceof LaunchError && error.code === 'RUN_NOT_STARTING';
          logger[quiet ? 'info' : 'error']({ runId, err: error }, 'run did not complete');
        },
      )
      .finally(() => {
        this.running.delete(runId);
        onRunEnded(runId);
      });
  }

  /** Waits for the runs in progress in this process. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.running.values()].map((h) => h.result));
  }
}
