export { STEPWISE_BIN } from './cli/bin-path.js';
export { loadRunConfig, parsePositiveInt, parseTags, withInstance } from './cli/options.js';
export { deepMerge } from './config/deep-merge.js';
export { type EnvRef, isEnvRef } from './config/env-ref.js';
export { formatZodIssues } from './config/format-issues.js';
export {
  type ComputeLogsConfig,
  type ExecutionDefaults,
  INSTANCE_CONFIG_FILE,
  type InstanceConfig,
  type InstanceConfigInput,
  type IOConfig,
  type KindConfig,
  loadInstanceConfig,
  type ParseInstanceConfigOptions,
  parseInstanceConfig,
  type QueuedRunCoordinatorConfig,
  resolveHome,
  resolveInstanceConfig,
  runCoordinatorSchema,
  type StorageConfig,
  type TagConcurrencyLimit,
} from './config/instance-config.js';
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
export { hasEnvRefs, type ResolveEnvOptions, resolveEnvRefs } from './config/resolve-env.js';
export {
  type ExecutionConfig,
  executionSchema,
  type OpRunConfig,
  type RunConfig,
  type ValidateRunConfigOptions,
  validateRunConfig,
} from './config/run-config.js';
export { runConfigSchema } from './config/run-config-schema.js';
export * from './definitions/index.js';
export * from './errors/index.js';
export * from './events/events.js';
export { finishCompiledRunIfDone, getOrCreateCompiledRun, safeRunId } from './execution/compiled-run.js';
export {
  COORDINATOR_HEARTBEAT_MS,
  COORDINATOR_HEARTBEAT_TIMEOUT_MS,
  coordinatorClocks,
  type HeldLease,
  leaseOwner,
  renewCoordinatorLease,
  type TakeLeaseOptions,
  takeCoordinatorLease,
} from './execution/coordinator-lease.js';
export { type CompiledStepResult, executeCompiledStep } from './execution/execute-compiled-step.js';
export { type ExecuteOptions, executePipeline, runEvents, startRun } from './execution/execute-pipeline.js';
export { executeStep, StepAbortedError } from './execution/execute-step.js';
export {
  type ExecuteStoredStepOptions,
  executeStoredStep,
  type StoredStepResult,
} from './execution/execute-stored-step.js';
export type { Executor, LaunchContext, StepLauncher } from './execution/executor.js';
export { executorFromConfig } from './execution/executor-registry.js';
export { InProcessExecutor, type InProcessExecutorOptions } from './execution/executors/in-process.js';
export {
  type ChildMessage,
  type InitMessage,
  type IORequestMessage,
  type IOResultMessage,
  type ParentMessage,
  type ReadyMessage,
  type RunMessage,
  StepProcessIpcError,
} from './execution/executors/ipc-protocol.js';
export { MultiprocessExecutor, type MultiprocessExecutorOptions } from './execution/executors/multiprocess.js';
export { StepProcessExitedError } from './execution/executors/multiprocess-launcher.js';
export { stepHostEntry, stepHostExecArgv } from './execution/executors/step-host-entry.js';
export {
  PARENT_RUN_TAG,
  planReexecution,
  type ReexecuteOptions,
  type ReexecutionPlan,
  ROOT_RUN_TAG,
  reexecuteRun,
  startReexecution,
} from './execution/reexecute.js';
export { replayStoredRun, STEP_REEXECUTED, type StoredRunView } from './execution/replay-stored-run.js';
export { ResourceManager, ResourceSetupError } from './execution/resource-manager.js';
export {
  ResumeError,
  type ResumeOptions,
  resumeRun,
  startResume,
} from './execution/resume.js';
export { RunDriver, type RunDriverOptions, type RunOutcome, type RunResultStatus } from './execution/run-driver.js';
export type { RunHandle } from './execution/run-handle.js';
export { type ExecutePlanOptions, executePlan } from './execution/run-lifecycle.js';
export type { RunResult } from './execution/run-result.js';
export { isStepLifecycle, RunState } from './execution/run-state.js';
export { recordAsStale, STALE_EVENT, staleOriginal } from './execution/stale-event.js';
export {
  hasProduced,
  isTerminal,
  producedNames,
  producedOutput,
  type StepNode,
  type StepStatus,
} from './execution/step-node.js';
export {
  pipelineToRun,
  type StepRefusalCheck,
  type StepRefusalCode,
  StepRefusedError,
} from './execution/step-refusal.js';
export { displayStatus, type StepResult, type StepResultStatus, stepResults } from './execution/step-results.js';
export type { StepExecutionOptions, StepOutcome, StepRuntime } from './execution/step-runtime.js';
export { storedRunPlan } from './execution/stored-run-plan.js';
export { Instance, type InstanceParts } from './instance/instance.js';
export { CachingIOManager } from './io/caching-io-manager.js';
export { decodeValue, encodeValue } from './io/codec.js';
export { FsIOManager } from './io/fs-io-manager.js';
export { type IOManager, refKey, type StoreMeta } from './io/io-manager.js';
export { MemoryIOManager } from './io/memory-io-manager.js';
export {
  type CodeLocation,
  codeLocationOf,
  FILE_TAG,
  loadCodeLocation,
  resolvePipeline,
} from './location/code-location.js';
export {
  type LoadedDefinitions,
  type LoadOptions,
  loadDefinitions,
  loadTimeoutMs,
} from './location/load-definitions.js';
export { captureOutput, installOutputCapture, restoreOutputCapture } from './logs/capture.js';
export type { ComputeLogManager } from './logs/compute-log-manager.js';
export { FsComputeLogManager } from './logs/fs-compute-log-manager.js';
export { MemoryComputeLogManager } from './logs/memory-compute-log-manager.js';
export { type BuildPlanOptions, buildPlan } from './plan/build-plan.js';
export {
  COMPILED_PLAN_KIND,
  type CompiledPlan,
  canonicalJson,
  EXIT_SKIPPED,
  MAPPING_KEY_ENV,
  parseCompiledPlan,
  readCompiledPlan,
} from './plan/compiled-plan.js';
export type * from './plan/plan.js';
export { renderPlanDot, renderPlanJson, renderPlanText } from './plan/render.js';
export { type StepGraphLike, selectSteps } from './plan/select.js';
export { buildStepTask } from './plan/step-task.js';
export { KindRegistry, nullAsEmpty } from './plugins/kind-registry.js';
export {
  type ComputeLogsKind,
  type ConfigContext,
  type ConfigSection,
  defineExecutor,
  defineInstancePart,
  definePlugin,
  defineSection,
  type ExecutorKind,
  type InstanceContext,
  type InstancePartKind,
  type IOManagerKind,
  readSection,
  type StepwisePlugin,
  type StorageKind,
} from './plugins/kinds.js';
export { type KindSlot, KNOWN_PACKAGES, type KnownPackage } from './plugins/known-packages.js';
export { loadPlugin, loadPlugins, loadPluginsFor, loadPluginsForSections } from './plugins/load-plugins.js';
export {
  computeLogKinds,
  configSections,
  executorKinds,
  ioKinds,
  registerPlugin,
  storageKinds,
} from './plugins/registry.js';
export { type EndRunOptions, endRunWithoutCoordinator } from './queue/end-run.js';
export { LaunchError, type LaunchErrorCode } from './queue/launch-error.js';
export { MAX_RUNTIME_TAG, PRIORITY_TAG, runPriority } from './queue/run-tags.js';
export { type StartStoredRunOptions, startStoredRun } from './queue/start-stored-run.js';
export {
  type SubmitReexecutionOptions,
  type SubmittedReexecution,
  submitReexecution,
} from './queue/submit-reexecution.js';
export { type SubmitRunOptions, submitRun } from './queue/submit-run.js';
export { type CancelRunOptions, type CancelRunResult, cancelRun, waitForRunEnd } from './runs/cancel-run.js';
export {
  isOrphaned,
  type ReusedStep,
  readRunSteps,
  requireRun,
  type StoredRunSteps,
} from './runs/read-run.js';
export {
  type RunDetailJson,
  type RunJson,
  runDetailJson,
  runDurationMs,
  runJson,
  type StepJson,
  stepJson,
} from './runs/run-json.js';
export * from './schedules/index.js';
export { EventWriter, type EventWriterOptions } from './storage/event-writer.js';
export { MemoryScheduleStore } from './storage/memory-schedule-store.js';
export { MemoryRunStorage } from './storage/memory-storage.js';
export { queueWatchApplicationName } from './storage/postgres/postgres-queue-watch.js';
export { PostgresRunStorage, type PostgresRunStorageOptions } from './storage/postgres/postgres-run-storage.js';
export * from './storage/run-lease.js';
export type * from './storage/run-storage.js';
export { IN_PROGRESS_RUN_STATUSES, RUN_STATUSES, TERMINAL_RUN_STATUSES } from './storage/run-storage.js';
export type * from './storage/schedule-store.js';
export { SqliteRunStorage, type SqliteRunStorageOptions } from './storage/sqlite/sqlite-run-storage.js';
