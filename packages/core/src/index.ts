export * from './definitions/index.js';
export * from './errors/index.js';
export * from './events/events.js';
export type * from './plan/plan.js';
export type * from './storage/run-storage.js';
export { MemoryRunStorage } from './storage/memory-storage.js';
export { type IOManager, refKey } from './io/io-manager.js';
export { MemoryIOManager } from './io/memory-io-manager.js';
export type { ComputeLogManager } from './logs/compute-log-manager.js';
export { Instance, type InstanceParts } from './instance/instance.js';
export { deepMerge } from './config/deep-merge.js';
export { formatZodIssues } from './config/format-issues.js';
export { loadYamlFiles, parseYaml } from './config/load-yaml.js';
export {
  addRedactKeys,
  collectSecretValues,
  DEFAULT_REDACT_KEY_PATTERN,
  isSecret,
  isSecretKey,
  REDACTED,
  type RedactOptions,
  redactConfig,
  redactEvent,
  redactPlan,
  redactValue,
  revealSecrets,
  Secret,
  secret,
} from './config/redact.js';
export {
  executionSchema,
  queueExecutionSchema,
  runConfigSchema,
  validateRunConfig,
  type ExecutionConfig,
  type OpRunConfig,
  type QueueExecutionConfig,
  type RunConfig,
  type ValidateRunConfigOptions,
} from './config/run-config.js';
export { buildPlan, type BuildPlanOptions } from './plan/build-plan.js';
export { renderPlanDot, renderPlanJson, renderPlanText } from './plan/render.js';
export { selectSteps, type StepGraphLike } from './plan/select.js';
export { executeStep, StepAbortedError } from './execution/execute-step.js';
export type { StepExecutionOptions, StepOutcome, StepRuntime } from './execution/step-runtime.js';
export { ResourceManager, ResourceSetupError } from './execution/resource-manager.js';
export type { Executor, LaunchContext, StepLauncher } from './execution/executor.js';
export { InProcessExecutor, type InProcessExecutorOptions } from './execution/executors/in-process.js';
export {
  MultiprocessExecutor,
  type MultiprocessExecutorOptions,
  StepProcessExitedError,
  VersionSkewError,
} from './execution/executors/multiprocess.js';
export { executorFromConfig, registerExecutor, type ExecutorFactory } from './execution/executor-registry.js';
export { RunCoordinator, type RunCoordinatorOptions, type RunOutcome } from './execution/run-coordinator.js';
export { isTerminal, RunState, type StepNode, type StepStatus } from './execution/run-state.js';
export type { RunResult, StepResult, StepResultStatus } from './execution/run-result.js';
export {
  executePipeline,
  executePlan,
  runEvents,
  startRun,
  type ExecuteOptions,
  type ExecutePlanOptions,
  type RunHandle,
} from './execution/execute-pipeline.js';
export { CachingIOManager } from './io/caching-io-manager.js';
export { loadDefinitions, resolvePipeline, type LoadedDefinitions } from './cli/load-definitions.js';
export {
  planReexecution,
  reexecuteRun,
  startReexecution,
  PARENT_RUN_TAG,
  ROOT_RUN_TAG,
  type ReexecuteOptions,
  type ReexecutionPlan,
} from './execution/reexecute.js';
export {
  executeStoredStep,
  type ExecuteStoredStepOptions,
  type StoredStepResult,
} from './execution/execute-stored-step.js';
export { displayStatus, replayStoredRun, type StoredRunView } from './execution/replay-stored-run.js';
export { SqliteRunStorage, type SqliteRunStorageOptions } from './storage/sqlite/sqlite-run-storage.js';
export { PostgresRunStorage, type PostgresRunStorageOptions } from './storage/postgres/postgres-run-storage.js';
export { EventWriter, type EventWriterOptions } from './storage/event-writer.js';
export { decodeValue, encodeValue } from './io/codec.js';
export { FsIOManager } from './io/fs-io-manager.js';
export { captureOutput, installOutputCapture, restoreOutputCapture } from './logs/capture.js';
export { FsComputeLogManager } from './logs/fs-compute-log-manager.js';
export { MemoryComputeLogManager } from './logs/memory-compute-log-manager.js';
export {
  INSTANCE_CONFIG_FILE,
  instanceConfigSchema,
  loadInstanceConfig,
  parseInstanceConfig,
  resolveHome,
  type ComputeLogsConfig,
  type InstanceConfig,
  type InstanceConfigInput,
  type IOConfig,
  type QueueExecutionDefaults,
  type PostgresStorageConfig,
  type QueuedRunCoordinatorConfig,
  type RedisIOConfig,
  type StorageConfig,
  type TagConcurrencyLimit,
} from './config/instance-config.js';
export {
  createInstance,
  loadInstance,
  registerIOManagerFactory,
  type FromConfigOptions,
  type IOManagerFactory,
  type IOManagerFactoryContext,
} from './instance/load-instance.js';
