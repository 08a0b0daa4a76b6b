import type { RunLauncherConfig } from '../config.js';
import { InProcessLauncher } from './in-process-launcher.js';
import { ProcessLauncher } from './process-launcher.js';
import type { LauncherContext, RunLauncher } from './run-launcher.js';

/** The launcher stepwise.yaml's `runLauncher` names. */
export async function createLauncher(config: RunLauncherConfig, context: LauncherContext): Promise<RunLauncher> {
  if ('inProcess' in config) return new InProcessLauncher(context);
  if ('queue' in config) {
    // BullMQ is loaded only for this launcher.
    const { QueueLauncher } = await import('./queue-launcher.js');
    return new QueueLauncher(config.queue, context);
  }
  return new ProcessLauncher(context);
}
