import { type RunLauncherConfig, runLauncherSchema } from './config.js';

/** A job of the `runs` queue: start or resume one run's coordinator. */
export interface RunJobData {
  runId: string;
  action: 'launch' | 'resume';
}

export type RunsQueueConfig = Extract<RunLauncherConfig, { queue: unknown }>['queue'];

/** The `runs` queue's settings: stepwise.yaml's `runLauncher.queue`, or its defaults. */
export function runsQueueConfig(launcher: RunLauncherConfig | undefined): RunsQueueConfig {
  if (launcher && 'queue' in launcher) return launcher.queue;
  return (runLauncherSchema.parse({ queue: {} }) as { queue: RunsQueueConfig }).queue;
}

/** Checks a job's payload; undefined when it is not what the queue launcher writes. */
export function parseRunJob(data: unknown): RunJobData | undefined {
  const d = data as Partial<RunJobData> | null;
  if (typeof d?.runId !== 'string' || d.runId === '' || (d.action !== 'launch' && d.action !== 'resume'))
    return undefined;
  return { runId: d.runId, action: d.action };
}
