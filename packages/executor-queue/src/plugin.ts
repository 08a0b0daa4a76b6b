import { defineExecutor, defineInstancePart, definePlugin } from '@stepwise/core';
import { z } from 'zod';
import { QUEUE_DEFAULTS, queueExecutorOptions } from './options.js';
import { QueueExecutor } from './queue-executor.js';
import { createRedis } from './redis-connection.js';
import { RedisIOManager } from './redis-io-manager.js';

/**
 * `execution: { queue: {...} }` (and `--executor queue`) and `io: { redis: {...} }`. Core loads this package and
 * registers it when a config names either kind; an embedding program may `registerPlugin(plugin)` itself.
 */
export const plugin = definePlugin({
  name: '@stepwise/executor-queue',
  executors: [
    defineExecutor({
      kind: 'queue',
      description: 'steps as BullMQ jobs run by `stepwise worker` processes on any machine',
      options: queueExecutorOptions,
      defaults: QUEUE_DEFAULTS,
      create: (options) => new QueueExecutor(options),
    }),
  ],
  io: [
    defineInstancePart({
      kind: 'redis',
      description: 'values in Redis, shared by coordinators and workers on every machine',
      options: z.strictObject({
        url: z.string().min(1, 'must not be empty'),
        /** Key prefix. Default `stepwise`. */
        prefix: z.string().optional(),
        /** Largest value stored, in bytes. Default 64 MiB. */
        maxValueBytes: z.number().int().positive('must be greater than 0').optional(),
      }),
      create: (options) =>
        new RedisIOManager(createRedis({ url: options.url, name: 'stepwise-io' }), {
          prefix: options.prefix,
          maxValueBytes: options.maxValueBytes,
          ownsConnection: true,
        }),
    }),
  ],
});
