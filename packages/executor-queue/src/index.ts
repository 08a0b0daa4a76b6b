export { DeadLetters } from './dead-letters.js';
export { addStepJobs, jobIdOf, stepJob } from './dispatch.js';
export {
  MalformedMessageError,
  QueueTimeoutError,
  RedisUnavailableError,
  StepLostError,
  ValueTooLargeError,
} from './errors/index.js';
export { EventConsumer, type EventConsumerOptions } from './event-consumer.js';
export { EventPublisher } from './event-publisher.js';
export { DEFAULT_PREFIX, RedisKeys } from './keys.js';
export {
  QUEUE_DEFAULTS,
  type QueueExecutorOptions,
  queueExecutorOptions,
  type ResolvedQueueOptions,
  resolveQueueOptions,
} from './options.js';
export { plugin } from './plugin.js';
export { type QueueDepth, QueueDepths } from './queue-depths.js';
export { QueueExecutor } from './queue-executor.js';
export type { QueueStats } from './queue-run.js';
export { type ConnectionOptions, createRedis, defaultRedisUrl, redactUrl } from './redis-connection.js';
export {
  type EncodedValue,
  RedisIOManager,
  type RedisIOManagerOptions,
} from './redis-io-manager.js';
export { markSucceeded, pingWithin, recordStall, stallsOf, subscribeToCancels, succeededOf } from './scripts.js';
export {
  decodeEventEntry,
  encodeEventEntry,
  encodeJobData,
  type InlineValue,
  type IOLocation,
  inlineKey,
  MAX_INLINE_BYTES,
  MAX_MESSAGE_BYTES,
  parseJobData,
  type StepJobData,
  WIRE_VERSION,
} from './wire.js';
export { listWorkers, removeWorker, WORKER_TTL_MS, type WorkerInfo, writeHeartbeat } from './worker-registry.js';
