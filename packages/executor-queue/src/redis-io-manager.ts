import {
  decodeValue,
  encodeValue,
  type IOManager,
  NotFoundError,
  type OutputRef,
  type StoreMeta,
} from '@stepwise/core';
import type { ChainableCommander, Redis } from 'ioredis';
import { ValueTooLargeError } from './errors/value-too-large-error.js';
import { DEFAULT_PREFIX, RedisKeys } from './keys.js';
import { defineScripts, deleteMatching, getValue, setValue, storeIfNewest, valueExists } from './scripts.js';

export interface RedisIOManagerOptions {
  prefix?: string;
  /** Largest encoded value stored. Default 64 MiB (Redis allows 512 MiB, but large values stall it). */
  maxValueBytes?: number;
  /** Seconds values are kept. Default 7 days, so re-execution can reuse them; 0 keeps them forever. */
  ttlSeconds?: number;
  /** `close()` quits the connection: the manager owns it (as the `redis` IO plugin's does). Default false. */
  ownsConnection?: boolean;
}

/** A value to store: its ref, encoded bytes and the attempt that produced it. */
export interface EncodedValue {
  ref: OutputRef;
  bytes: Buffer;
  attempt: number;
}

/** Stores step outputs in Redis with msgpackr, so that they move between machines without a shared disk. */
export class RedisIOManager implements IOManager {
  private readonly keys: RedisKeys;
  private readonly maxValueBytes: number;
  private readonly ttlSeconds: number;

  private readonly connect: () => Redis;
  private readonly ownsConnection: boolean;

  /**
   * @param redis the connection, or a function giving the connection to use now: the queue executor's may be
   *   closed at the end of a run and opened again when the run's outputs are loaded later.
   */
  constructor(redis: Redis | (() => Redis), options: RedisIOManagerOptions = {}) {
    this.connect = typeof redis === 'function' ? redis : () => redis;
    // Now, on a given connection: a pipeline copies the connection's commands when it is made (storeAllCommand).
    if (typeof redis !== 'function') defineScripts(redis);
    this.keys = new RedisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.maxValueBytes = options.maxValueBytes ?? 64 * 1024 * 1024;
    this.ttlSeconds = options.ttlSeconds ?? 7 * 24 * 3600;
    this.ownsConnection = options.ownsConnection ?? false;
  }

  /** Quits the connection if this manager owns it (else its owner closes it). */
  async close(): Promise<void> {
    if (!this.ownsConnection) return;
    const redis = this.connect();
    // Never connected (lazy): nothing to say goodbye to.
    if (redis.status === 'wait' || redis.status === 'end') redis.disconnect();
    else await redis.quit().catch(() => redis.disconnect());
  }

  private get redis(): Redis {
    return defineScripts(this.connect());
  }

  private key(ref: OutputRef): string {
    return this.keys.value(ref.runId, ref.step, ref.output, ref.mappingKey);
  }

  async store(ref: OutputRef, value: unknown, meta?: StoreMeta): Promise<void> {
    await this.send(ref, value, meta?.attempt);
  }

  /**
   * Encodes and checks the value now (throwing ValueTooLargeError at once) and sends the SET without waiting for
   * its reply. Commands on one connection run in order, so an event XADDed after this on the same connection is
   * never seen before the value: the worker saves a round trip per output this way.
   */
  send(ref: OutputRef, value: unknown, attempt?: number): Promise<unknown> {
    return this.sendEncoded(ref, encodeValue(value), attempt);
  }

  /** {@link send} for a value already encoded with `encodeValue`. */
  sendEncoded(ref: OutputRef, bytes: Buffer, attempt?: number): Promise<unknown> {
    this.checkSize(ref, bytes);
    const key = this.key(ref);
    if (attempt !== undefined)
      return storeIfNewest(this.redis, this.storeArgs([{ ref, bytes, attempt }])) as Promise<unknown>;
    return setValue(this.redis, key, bytes, this.ttlSeconds);
  }

  /**
   * The write of an encoded value as a command for a pipeline (the size is checked now, throwing at once), so a
   * caller can order it before other commands: the worker sends it with the events that announce the value.
   */
  storeCommand(ref: OutputRef, bytes: Buffer, attempt: number): (pipeline: ChainableCommander) => void {
    this.checkSize(ref, bytes);
    return this.storeAllCommand([{ ref, bytes, attempt }]);
  }

  /**
   * The write of several encoded values as one command for a pipeline (sizes checked with checkSize when each
   * value was made). The list is read when the command is built, so values added until then go with it.
   */
  storeAllCommand(values: readonly EncodedValue[]): (pipeline: ChainableCommander) => void {
    return (pipeline) => {
      if (values.length > 0) storeIfNewest(pipeline, this.storeArgs(values));
    };
  }

  private storeArgs(values: readonly EncodedValue[]): Array<string | number | Buffer> {
    const keys: string[] = [];
    const argv: Array<string | number | Buffer> = [this.ttlSeconds];
    for (const { ref, bytes, attempt } of values) {
      const key = this.key(ref);
      keys.push(key, `${key}:attempt`);
      argv.push(bytes, attempt);
    }
    return [keys.length, ...keys, ...argv];
  }

  /** Throws ValueTooLargeError when `bytes` exceed the configured largest value. */
  checkSize(ref: OutputRef, bytes: Buffer): void {
    if (bytes.length > this.maxValueBytes) {
      throw new ValueTooLargeError(describe(ref), bytes.length, this.maxValueBytes);
    }
  }

  async load(ref: OutputRef): Promise<unknown> {
    const key = this.key(ref);
    const bytes = await getValue(this.redis, key);
    if (bytes === null) {
      throw new NotFoundError(
        `the Redis IO manager has no stored output ${describe(ref)} (key ${key}: expired, deleted, or Redis lost its data); check that every worker and the coordinator use the same Redis and prefix, and that values outlive the run (ttlSeconds)`,
      );
    }
    return decodeValue(bytes, describe(ref));
  }

  async has(ref: OutputRef): Promise<boolean> {
    return valueExists(this.redis, this.key(ref));
  }

  async deleteRun(runId: string): Promise<void> {
    await deleteMatching(this.redis, this.keys.valuesOfRun(runId));
  }
}

function describe(ref: OutputRef): string {
  return `output '${ref.step}.${ref.output}${ref.mappingKey === undefined ? '' : `[${ref.mappingKey}]`}' of run ${ref.runId}`;
}
