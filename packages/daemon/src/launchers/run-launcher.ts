import type { Instance, RunRecord } from '@stepwise/core';
import type { Logger } from 'pino';

/** What a launcher gets from the daemon. */
export interface LauncherContext {
  instance: Instance;
  logger: Logger;
  /** Called when a run this launcher started from this process has ended: a slot freed, dequeue now. */
  onRunEnded(runId: string): void;
}

/**
 * Starts the coordinator of a dequeued run somewhere (docs/daemon.md `runLauncher`). `launch` and `resume` return once
 * the coordinator is on its way, not when the run ends; a coordinator moves the run STARTING → STARTED itself.
 */
/** What a launcher reports about a coordinator it started (recorded on the `launched` event): a pid, a job id. */
export type LaunchDetails = Record<string, string | number>;

export interface RunLauncher {
  readonly kind: 'process' | 'inProcess' | 'queue';
  /** Starts a STARTING run. A second launch of one run is harmless: only one coordinator can start it. */
  launch(run: RunRecord): Promise<LaunchDetails>;
  /** Starts a coordinator that resumes a STARTED run whose coordinator is gone (`stepwise resume`). */
  resume(run: RunRecord): Promise<LaunchDetails>;
  /** Releases what the launcher holds; the in-process launcher waits for its runs. */
  close(): Promise<void>;
}
