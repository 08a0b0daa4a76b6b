import { readFileSync } from 'node:fs';
import type { ChainableCommander, Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';

/*
 * The one door to Redis of the coordinator, the workers and the Redis IO manager (as BullMQ's scripts.ts): every
 * command they send is one of these functions, and the Lua scripts live in ../commands/*.lua. Queues and jobs go
 * through BullMQ, which is its own door.
 */

type Arg = string | number | Buffer;

/** An entry of a stream as XREAD returns it in buffer mode. */
export type StreamEntry = [id: Buffer, fields: Buffer[]];

/** The dead-letter stream is trimmed to about this many entries. */
const DEAD_LETTER_MAX_ENTRIES = 10_000;

/** How long a run's canceled mark outlives the cancel, in seconds: workers refuse its steps that long. */
const CANCELED_TTL_SECONDS = 86_400;

const scripts = new Map<string, string>();

/**
 * The text of `commands/<name>.lua`. The folder sits at the package root, beside src/ and dist/, so the same
 * relative URL works from the sources (tests, tsx) and from the build (tsc copies no .lua files).
 */
function lua(name: string): string {
  let text = scripts.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`../commands/${name}.lua`, import.meta.url), 'utf8');
    scripts.set(name, text);
  }
  return text;
}

/** Resolves once Redis answers a PING, rejects after `ms`. */
export async function pingWithin(redis: Redis, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    redis.ping(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Up to `count` entries of `stream` after id `after`; with `blockMs`, waits that long for one (XREAD BLOCK holds
 * the connection).
 */
export async function readStream(
  redis: Redis,
  stream: string,
  after: string,
  count: number,
  blockMs?: number,
): Promise<StreamEntry[]> {
  const reply = (
    blockMs === undefined
      ? await redis.xreadBuffer('COUNT', count, 'STREAMS', stream, after)
      : await redis.xreadBuffer('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, after)
  ) as Array<[Buffer, StreamEntry[]]> | null;
  return reply?.[0]?.[1] ?? [];
}

/** Appends an entry to a stream, in a pipeline. */
export function appendToStream(pipeline: ChainableCommander, stream: string, fields: Arg[]): void {
  pipeline.xadd(stream, '*', ...fields);
}

/** Sends the commands `build` adds as one pipeline; rejects with the first command's error, if any. */
export async function sendPipeline(redis: Redis, build: (pipeline: ChainableCommander) => void): Promise<void> {
  const pipeline = redis.pipeline();
  build(pipeline);
  const results = await pipeline.exec();
  const failed = results?.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
}

/** How long a run's set of succeeded steps is kept: a re-run job older than that runs them again. */
const SUCCEEDED_TTL_MS = 7 * 24 * 3600 * 1000;

/** Records, in a pipeline (with the step's events), that a step succeeded. */
export function markSucceeded(pipeline: ChainableCommander, keys: RedisKeys, runId: string, stepKey: string): void {
  const key = keys.runSucceeded(runId);
  pipeline.sadd(key, stepKey);
  pipeline.pexpire(key, SUCCEEDED_TTL_MS);
}

/** Which of `stepKeys` a worker recorded as succeeded (see markSucceeded). */
export async function succeededOf(
  redis: Redis,
  keys: RedisKeys,
  runId: string,
  stepKeys: readonly string[],
): Promise<Set<string>> {
  if (stepKeys.length === 0) return new Set();
  const flags = await redis.smismember(keys.runSucceeded(runId), ...stepKeys);
  return new Set(stepKeys.filter((_, i) => flags[i] === 1));
}

/** Counts one more loop-blocked stall of a step's job (see RedisKeys.runStalls); resolves to the new count. */
export async function recordStall(redis: Redis, keys: RedisKeys, runId: string, stepKey: string): Promise<number> {
  const key = keys.runStalls(runId);
  const [[, count] = []] = (await redis.multi().hincrby(key, stepKey, 1).pexpire(key, SUCCEEDED_TTL_MS).exec()) ?? [];
  return Number(count ?? 0);
}

/** How often a step's job was lost to its worker's blocked event loop (see recordStall). */
export async function stallsOf(redis: Redis, keys: RedisKeys, runId: string, stepKey: string): Promise<number> {
  return Number((await redis.hget(keys.runStalls(runId), stepKey)) ?? 0);
}

/** Deletes a run's event stream (once its coordinator has read it to the end). */
export async function deleteRunEvents(redis: Redis, keys: RedisKeys, runId: string): Promise<void> {
  await redis.del(keys.runEvents(runId), keys.runSucceeded(runId), keys.runWatch(runId), keys.runStalls(runId));
}

/** Keeps a malformed job or stream entry for inspection: `fields` are name/value pairs. */
export async function addDeadLetter(redis: Redis, keys: RedisKeys, fields: Arg[]): Promise<void> {
  await redis.xadd(keys.deadLetter, 'MAXLEN', '~', DEAD_LETTER_MAX_ENTRIES, '*', ...fields);
}

/** Marks a run canceled (workers refuse its steps) and tells the workers, which abort its running steps. */
export async function announceCanceled(redis: Redis, keys: RedisKeys, runId: string, reason: string): Promise<void> {
  await redis.set(keys.runCanceled(runId), reason, 'EX', CANCELED_TTL_SECONDS);
  await redis.publish(keys.cancelChannel, runId);
}

/** Calls `onRun` with each run announced canceled. `redis` is given over to the subscription. */
export async function subscribeToCancels(redis: Redis, keys: RedisKeys, onRun: (runId: string) => void) {
  redis.on('message', (_channel: string, runId: string) => onRun(runId));
  await redis.subscribe(keys.cancelChannel);
}

/** Writes a worker's description (kept `ttlMs`) and its heartbeat in the live set, at once. */
export async function writeWorker(
  redis: Redis,
  keys: RedisKeys,
  id: string,
  description: string,
  heartbeatAt: number,
  ttlMs: number,
): Promise<void> {
  await redis.multi().set(keys.worker(id), description, 'PX', ttlMs).zadd(keys.workers, heartbeatAt, id).exec();
}

export async function deleteWorker(redis: Redis, keys: RedisKeys, id: string): Promise<void> {
  await redis.multi().del(keys.worker(id)).zrem(keys.workers, id).exec();
}

/** The descriptions of the workers whose last heartbeat is after `since` (null: expired), after pruning the rest. */
export async function readWorkers(redis: Redis, keys: RedisKeys, since: number): Promise<Array<string | null>> {
  await redis.zremrangebyscore(keys.workers, '-inf', String(since));
  const ids = await redis.zrange(keys.workers, '0', '-1');
  if (ids.length === 0) return [];
  return redis.mget(ids.map((id) => keys.worker(id)));
}

/** Sets a value key without checking attempts; `ttlSeconds` 0 keeps it forever. */
export function setValue(redis: Redis, key: string, bytes: Buffer, ttlSeconds: number): Promise<unknown> {
  return ttlSeconds > 0 ? redis.set(key, bytes, 'EX', ttlSeconds) : redis.set(key, bytes);
}

export function getValue(redis: Redis, key: string): Promise<Buffer | null> {
  return redis.getBuffer(key);
}

export async function valueExists(redis: Redis, key: string): Promise<boolean> {
  return (await redis.exists(key)) === 1;
}

/** Deletes every key matching `pattern`, a thousand at a time (SCAN, never KEYS). */
export async function deleteMatching(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** How long a run's dispatch fence lives after its last claim, in seconds: longer than any run waits between flushes. */
const EPOCH_TTL_SECONDS = 7 * 86_400;

const CLAIM_EPOCH = 'stepwiseClaimEpoch';

/**
 * Claims the run's dispatch fence for a coordinator of lease epoch `epoch` (claim-epoch.lua): 0 when it holds,
 * else the newer epoch that refuses it.
 */
export async function claimEpoch(redis: Redis, keys: RedisKeys, runId: string, epoch: number): Promise<number> {
  const commander = defineScripts(redis) as unknown as Record<typeof CLAIM_EPOCH, (...args: Arg[]) => Promise<number>>;
  return Number(await commander[CLAIM_EPOCH](keys.runEpoch(runId), epoch, EPOCH_TTL_SECONDS));
}

/** How long a run's watch mark outlives the watchdog's last tick, in seconds. */
const WATCH_TTL_SECONDS = 7 * 86_400;

const WATCH_RUN = 'stepwiseWatchRun';

/** What watch-run.lua saw in one call. */
export interface RunWatch {
  /** The run's watch mark was there (false: Redis lost the run's data, or this is the first call). */
  marked: boolean;
  /** The id of the run stream's last entry, or '' when the stream does not exist. */
  lastStreamId: string;
  /** Per job key asked, whether it exists. */
  exists: boolean[];
}

/** One atomic read of the run's watch mark (set again), its stream's end and which of `jobKeys` exist. */
export async function watchRun(
  redis: Redis,
  keys: RedisKeys,
  runId: string,
  jobKeys: readonly string[],
): Promise<RunWatch> {
  const commander = defineScripts(redis) as unknown as Record<typeof WATCH_RUN, (...args: Arg[]) => Promise<unknown>>;
  const reply = (await commander[WATCH_RUN](
    2 + jobKeys.length,
    keys.runWatch(runId),
    keys.runEvents(runId),
    ...jobKeys,
    WATCH_TTL_SECONDS,
  )) as [number, string, ...number[]];
  const [marked, lastStreamId, ...flags] = reply;
  return { marked: marked === 1, lastStreamId: String(lastStreamId), exists: flags.map((f) => f === 1) };
}

/** The ioredis command of store-if-newest.lua: EVALSHA once the script is on the connection, not its text each time. */
const STORE_IF_NEWEST = 'stepwiseStoreIfNewest';

type StoreCommander = Record<typeof STORE_IF_NEWEST, (...args: Arg[]) => unknown>;

/**
 * Defines this package's scripts on `redis`, once. Needed before a pipeline is made from it: a pipeline copies the
 * connection's commands when it is made.
 */
export function defineScripts(redis: Redis): Redis {
  // The number of keys varies (two per value): each call gives it.
  if (!(STORE_IF_NEWEST in redis)) redis.defineCommand(STORE_IF_NEWEST, { lua: lua('store-if-newest') });
  if (!(CLAIM_EPOCH in redis)) redis.defineCommand(CLAIM_EPOCH, { lua: lua('claim-epoch'), numberOfKeys: 1 });
  if (!(WATCH_RUN in redis)) redis.defineCommand(WATCH_RUN, { lua: lua('watch-run') });
  return redis;
}

/**
 * Runs store-if-newest.lua: `args` are the key count, the value and attempt keys in pairs, the ttl, then bytes and
 * attempt per pair. On a pipeline, the connection it came from must have had {@link defineScripts}.
 */
export function storeIfNewest(target: Redis | ChainableCommander, args: Arg[]): unknown {
  // A connection (it makes pipelines) gets the script now; a pipeline has it from its connection.
  const commander = 'pipeline' in target ? defineScripts(target) : target;
  return (commander as unknown as StoreCommander)[STORE_IF_NEWEST](...args);
}
