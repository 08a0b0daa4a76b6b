import {
  decodeValue,
  encodeValue,
  type IOManager,
  NotFoundError,
  type OutputRef,
  StepwiseError,
  type StoreMeta,
} from '@stepwise/core';
import type { ChainableCommander, Redis } from 'ioredis';
import { DEFAULT_PREFIX, RedisKeys } from './keys.js';

/** An output exceeds the Redis IO manager's size limit. */
export class ValueTooLargeError extends StepwiseError {
  constructor(what: string, bytes: number, limit: number) {
    super(
      'VALUE_TOO_LARGE',
      `${what} is ${bytes} bytes encoded, over the Redis IO manager's limit of ${limit}; store large data elsewhere (a blob store, or io.fs on a shared volume) and pass a reference, or raise io.redis.maxValueBytes`,
    );
  }
}

export interface RedisIOManagerOptions {
  prefix?: string;
  /** Largest encoded value stored. Default 64 MiB (Redis allows 512 MiB, but large values stall it). */
  maxValueBytes?: number;
  /** Seconds values are kept. Default 7 days, so re-execution can reuse them; 0 keeps them forever. */
  ttlSeconds?: number;
}

/**
 * Writes each value unless a newer attempt of its step already wrote it: a worker that was presumed lost (frozen,
 * cut off) and comes back must not overwrite the output of the attempt that replaced it.
 * KEYS: value and attempt keys, in pairs. ARGV: ttl seconds (0: none), then bytes and attempt per pair.
 * Returns how many were written. One call for all the values a worker sends in one pipeline.
 */
const STORE_IF_NEWEST = `
local ttl = tonumber(ARGV[1])
local written = 0
for i = 1, #KEYS, 2 do
  local bytes, attempt = ARGV[i + 1], ARGV[i + 2]
  local current = redis.call('GET', KEYS[i + 1])
  if not current or tonumber(current) <= tonumber(attempt) then
    if ttl > 0 then
      redis.call('SET', KEYS[i], bytes, 'EX', ttl)
      redis.call('SET', KEYS[i + 1], attempt, 'EX', ttl)
    else
      redis.call('SET', KEYS[i], bytes)
      redis.call('SET', KEYS[i + 1], attempt)
    end
    written = written + 1
  end
end
return written`;

/** A value to store: its ref, encoded bytes and the attempt that produced it. */
export interface EncodedValue {
  ref: OutputRef;
  bytes: Buffer;
  attempt: number;
}

/** The ioredis command for STORE_IF_NEWEST: EVALSHA once the script is on the connection, not its text each time. */
const STORE_COMMAND = 'stepwiseStoreIfNewest';

type StoreCommander = Record<typeof STORE_COMMAND, (...args: Array<string | number | Buffer>) => unknown>;

/** Stores step outputs in Redis with msgpackr, so that they move between machines without a shared disk. */
export class RedisIOManager implements IOManager {
  private readonly keys: RedisKeys;
  private readonly maxValueBytes: number;
  private readonly ttlSeconds: number;

  private readonly connect: () => Redis;

  /**
   * @param redis the connection, or a function giving the connection to use now: the queue executor's may be
   *   closed at the end of a run and opened again when the run's outputs are loaded later.
   */
  constructor(redis: Redis | (() => Redis), options: RedisIOManagerOptions = {}) {
    this.connect = typeof redis === 'function' ? redis : () => redis;
    // Now, on a given connection: a pipeline copies the connection's commands when it is made (storeAllCommand).
    if (typeof redis !== 'function') defineStore(redis);
    this.keys = new RedisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.maxValueBytes = options.maxValueBytes ?? 64 * 1024 * 1024;
    this.ttlSeconds = options.ttlSeconds ?? 7 * 24 * 3600;
  }

  private get redis(): Redis {
    return defineStore(this.connect());
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
    if (attempt !== undefined) {
      const store = (this.redis as unknown as StoreCommander)[STORE_COMMAND];
      return store.call(this.redis, ...this.storeArgs([{ ref, bytes, attempt }])) as Promise<unknown>;
    }
    return this.ttlSeconds > 0 ? this.redis.set(key, bytes, 'EX', this.ttlSeconds) : this.redis.set(key, bytes);
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
      if (values.length > 0) (pipeline as unknown as StoreCommander)[STORE_COMMAND](...this.storeArgs(values));
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
    const bytes = await this.redis.getBuffer(this.key(ref));
    if (bytes === null)
      throw new NotFoundError(`no stored output ${describe(ref)} in Redis (expired, deleted, or Redis lost its data)`);
    return decodeValue(bytes, describe(ref));
  }

  async has(ref: OutputRef): Promise<boolean> {
    return (await this.redis.exists(this.key(ref))) === 1;
  }

  async deleteRun(runId: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.keys.valuesOfRun(runId), 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await this.redis.unlink(...keys);
    } while (cursor !== '0');
  }
}

/** Defines the store command on `redis` once. The number of keys varies (two per value): each call gives it. */
function defineStore(redis: Redis): Redis {
  if (!(STORE_COMMAND in redis)) redis.defineCommand(STORE_COMMAND, { lua: STORE_IF_NEWEST });
  return redis;
}

function describe(ref: OutputRef): string {
  return `output '${ref.step}.${ref.output}${ref.mappingKey === undefined ? '' : `[${ref.mappingKey}]`}' of run ${ref.runId}`;
}
