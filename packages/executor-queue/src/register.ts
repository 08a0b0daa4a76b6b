import { registerExecutor, registerIOManagerFactory } from '@stepwise/core';
import type { QueueExecutorOptions } from './options.js';
import { QueueExecutor } from './queue-executor.js';
import { createRedis } from './redis-connection.js';
import { RedisIOManager } from './redis-io-manager.js';

/** Makes `execution: { queue: {...} }` and `io: { redis: {...} }` available. Runs when this package is imported. */
export function registerQueueExecutor(): void {
  registerExecutor('queue', (config) => new QueueExecutor(config as QueueExecutorOptions));
  registerIOManagerFactory('redis', (options) => {
    const redis = createRedis({ url: options.url, name: 'stepwise-io' });
    return new RedisIOManager(redis, { prefix: options.prefix, maxValueBytes: options.maxValueBytes });
  });
}
