import { definePlugin } from '@stepwise/core';
import { registerCommands } from './cli/register.js';
import { daemonSection, runLauncherSection, runMonitoringSection, schedulerSection } from './config.js';

export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export {
  type DaemonConfig,
  daemonSection,
  daemonSettings,
  type RunLauncherConfig,
  type RunMonitoringConfig,
  runLauncherSection,
  runMonitoringSection,
  type SchedulerConfig,
  schedulerSection,
} from './config.js';
export { type Daemon, type DaemonLoopDefinition, type DaemonOptions, startDaemon } from './daemon.js';
export { type DaemonStatus, daemonStatuses } from './daemon-status.js';
export { chooseRunsToDequeue, type QueueLimits } from './dequeue-policy.js';
export { createLauncher } from './launchers/create-launcher.js';
export { InProcessLauncher } from './launchers/in-process-launcher.js';
export { ProcessLauncher } from './launchers/process-launcher.js';
export type { LauncherContext, RunLauncher } from './launchers/run-launcher.js';
export { DaemonLoop, type LoopOptions } from './loop.js';
export { type DaemonLoopFactory, registerDaemonLoop } from './loop-registry.js';
export { type DaemonEventKind, recordDaemonEvent } from './run-events.js';
export { parseRunJob, type RunJobData, type RunsQueueConfig, runsQueueConfig } from './runs-queue.js';
export { type RunsWorkerOptions, startRunsWorker } from './runs-worker.js';
export { type BackfillEntry, backfillSchedule } from './scheduler/backfill.js';
export { type CrontabOptions, renderCrontab } from './scheduler/crontab.js';
export { FAULT_ENV, FAULT_POINTS, type FaultPoint } from './scheduler/fault-points.js';
export { type SchedulerContext, schedulerPassContext } from './scheduler/pass-context.js';
export { effectiveState, findSchedule, scheduleStore, setScheduleStatus } from './scheduler/schedule-state.js';
export { listSchedules, previewSchedule, type ScheduleListEntry } from './scheduler/schedule-views.js';
export { CLOCK_FILE_ENV, schedulerNow } from './scheduler/scheduler-clock.js';
export { schedulerLoop } from './scheduler/scheduler-loop.js';
export {
  type LaunchTick,
  type PassResult,
  runSchedulerPass,
  SCHEDULE_TAG,
  SCHEDULED_AT_TAG,
  type SchedulerPassOptions,
  tickRunKey,
} from './scheduler/scheduler-pass.js';
export { registerCommands };

/** What the `stepwise` CLI loads from this package: its commands. */
export const plugin = definePlugin({
  name: '@stepwise/daemon',
  sections: [runLauncherSection, runMonitoringSection, daemonSection, schedulerSection],
  registerCommands,
});
export { type ServeRunsOptions, serveRuns } from './cli/serve-runs.js';
