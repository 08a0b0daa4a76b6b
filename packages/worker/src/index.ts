export { registerCommands, WorkerStartError } from './commands.js';
export { JobProcessor, type JobProcessorDeps, type RunningStep } from './job-processor.js';
export { WorkerMetrics } from './metrics.js';
export { plugin } from './plugin.js';
export { StepwiseWorker, type StepwiseWorkerOptions } from './worker.js';
