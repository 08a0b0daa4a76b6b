import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { type RunRecord, STEPWISE_BIN } from '@stepwise/core';
import type { LaunchDetails, LauncherContext, RunLauncher } from './run-launcher.js';

/**
 * `runLauncher: { process: {} }`: a detached `stepwise run --run-id ID` process per run (`stepwise resume ID` to
 * resume), in its own process group, so it outlives the daemon. Its output goes to
 * `<home>/daemon/runs/<runId>.log`.
 */
export class ProcessLauncher implements RunLauncher {
  readonly kind = 'process';

  constructor(private readonly context: LauncherContext) {}

  launch(run: RunRecord): Promise<LaunchDetails> {
    return this.spawn(run.runId, ['run', '--run-id', run.runId]);
  }

  resume(run: RunRecord): Promise<LaunchDetails> {
    return this.spawn(run.runId, ['resume', run.runId]);
  }

  private spawn(runId: string, args: string[]): Promise<LaunchDetails> {
    const { instance, logger, onRunEnded } = this.context;
    let out: number | 'ignore' = 'ignore';
    if (instance.home) {
      const dir = join(instance.home, 'daemon', 'runs');
      mkdirSync(dir, { recursive: true });
      out = openSync(join(dir, `${runId}.log`), 'a');
    }
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [STEPWISE_BIN, ...args], {
        detached: true,
        stdio: ['ignore', out, out],
        env: { ...process.env, ...(instance.home ? { STEPWISE_HOME: instance.home } : {}) },
      });
      if (typeof out === 'number') closeSync(out);
      child.once('error', reject);
      child.once('spawn', () => {
        logger.debug({ runId, pid: child.pid, args }, 'run process started');
        resolve({ pid: child.pid ?? -1 });
      });
      child.once('exit', (code, signal) => {
        logger.debug({ runId, code, signal }, 'run process exited');
        onRunEnded(runId);
      });
      // The daemon may exit before the run: do not keep it alive for the child.
      child.unref();
    });
  }

  async close(): Promise<void> {}
}
