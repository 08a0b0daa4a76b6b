export {
  exitCode,
  exited,
  isRunning,
  killOnExit,
  liveChildren,
  type StopOptions,
  stopProcess,
} from './child-process.js';
export { CONFORMANCE_PIPELINES, type ExecutorUnderTest, runExecutorConformance } from './executor-conformance.js';
export { freePort } from './free-port.js';
export {
  installLeakCheck,
  type LeakCheckOptions,
  type LeakSnapshot,
  leaksSince,
  takeLeakSnapshot,
} from './leak-check.js';
export { deletePrefix, uniquePrefix } from './redis-prefix.js';
export { type RedisServer, type RedisServerOptions, RedisStartError, startRedisServer } from './redis-server.js';
export { type ProcessResult, type RunProcessOptions, runProcess } from './run-process.js';
export type { StorageInChild } from './storage-child-writer.js';
export { runStorageContract, type StorageBackend } from './storage-contract.js';
export { testLogEvent, testRunRecord, uniqueId } from './test-records.js';
export { sleep, WaitTimeoutError, waitUntil, within, withinOrTimeout } from './wait.js';
export {
  killAllWorkers,
  STEPWISE_CLI,
  spawnWorker,
  type WorkerOptions,
  type WorkerProcess,
  waitForWorkers,
} from './worker-process.js';
