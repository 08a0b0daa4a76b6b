export { registerCommands, WorkerStartError } from './commands.js';
export {
  describeCause,
  StepAbandonedError,
  StepKilledError,
  StepStalledError,
  StepTimedOutError,
  type StopCause,
} from './errors/index.js';
export type { AbandonedStep } from './inline-runner.js';
export { DEFAULT_ISOLATION, ISOLATION_TAG, ISOLATIONS, type Isolation, isIsolation } from './isolation.js';
export { JobProcessor, type JobProcessorDeps, type RunningStep } from './job-processor.js';
export { LoopLag, type LoopLagOptions } from './loop-lag.js';
export { WorkerMetrics, type WorkerMetricsOptions } from './metrics.js';
export { plugin } from './plugin.js';
export { StallGuard, type StallGuardOptions } from './stall-guard.js';
export type { RunControl, RunStatus, StepRun, StepRunner } from './step-runner.js';
export { StepRunners, type StepRunnersOptions } from './step-runners.js';
export { StepWatch, type StepWatchOptions } from './step-watch.js';
export { StepwiseWorker, type StepwiseWorkerOptions } from './worker.js';
