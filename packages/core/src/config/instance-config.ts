import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, LoadError } from '../errors/index.js';
import { formatZodIssues } from './format-issues.js';
import { parseYaml } from './load-yaml.js';

/** The instance config file's name inside the home directory. */
export const INSTANCE_CONFIG_FILE = 'stepwise.yaml';

export type EmptyConfig = Record<string, never>;

/** Where runs and events live. Default `{ sqlite: { dir: '<home>/storage' } }`. */
export type StorageConfig = { sqlite: { dir: string } } | { postgres: PostgresStorageConfig } | { memory: EmptyConfig };

export interface PostgresStorageConfig {
  url: string;
  /** Schema holding the tables. Default `public`. */
  schema?: string;
}

export interface RedisIOConfig {
  url: string;
  /** Key prefix. The Redis IO manager's default applies when absent. */
  prefix?: string;
  /** Largest value stored, in bytes. The Redis IO manager's default applies when absent. */
  maxValueBytes?: number;
}

/** Where step outputs live. Default `{ fs: { dir: '<home>/io' } }`; `redis` is provided by @stepwise/executor-queue. */
export type IOConfig = { fs: { dir: string } } | { redis: RedisIOConfig } | { memory: EmptyConfig };

/** Where captured step stdout/stderr goes. Default `{ fs: { dir: '<home>/logs' } }`. */
export type ComputeLogsConfig = { fs: { dir: string } } | { memory: EmptyConfig };

export interface TagConcurrencyLimit {
  key: string;
  /** When absent, the limit applies per distinct value of the tag. */
  value?: string;
  limit: number;
}

export interface QueuedRunCoordinatorConfig {
  /** Default 10. */
  maxConcurrentRuns: number;
  /** Default none. */
  tagConcurrencyLimits: TagConcurrencyLimit[];
}

export interface RunCoordinatorConfig {
  /** When absent, runs launch at once; when present, they queue under these limits. */
  queued?: QueuedRunCoordinatorConfig;
}

/** Instance-wide defaults for the queue executor; the run config's `execution.queue` wins over them. */
export interface QueueExecutionDefaults {
  redisUrl?: string;
  prefix?: string;
  defaultQueue?: string;
  lockDurationMs?: number;
  maxStepsInFlight?: number;
  queueTimeoutMs?: number;
}

export interface ExecutionDefaults {
  queue?: QueueExecutionDefaults;
}

/** A resolved `stepwise.yaml` (SPEC §6): every key present, every dir absolute. */
export interface InstanceConfig {
  storage: StorageConfig;
  io: IOConfig;
  computeLogs: ComputeLogsConfig;
  runCoordinator: RunCoordinatorConfig;
  execution: ExecutionDefaults;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const nonEmpty = z.string().min(1, 'must not be empty');
// `memory:` with nothing after it is null in YAML; treat it like `memory: {}`.
const nullAsEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);
const dirBlock = nullAsEmpty(z.strictObject({ dir: nonEmpty.optional() }));
const emptyBlock = nullAsEmpty(z.strictObject({}));
const positiveInt = z.number().int().positive('must be greater than 0');

/** Exactly one of `kinds` must be set in a `{ kind: options }` block. */
function oneKind(kinds: readonly string[]) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const set = kinds.filter((k) => value[k] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          set.length === 0
            ? `choose one of: ${kinds.join(', ')}`
            : `choose only one of: ${kinds.join(', ')} (got ${set.join(', ')})`,
      });
    }
  };
}

const storageSchema = z
  .strictObject({
    sqlite: dirBlock.optional(),
    postgres: nullAsEmpty(
      z.strictObject({
        url: nonEmpty,
        schema: z.string().regex(IDENTIFIER, 'must be a plain identifier (letters, digits, _)').optional(),
      }),
    ).optional(),
    memory: emptyBlock.optional(),
  })
  .superRefine(oneKind(['sqlite', 'postgres', 'memory']));

const ioSchema = z
  .strictObject({
    fs: dirBlock.optional(),
    redis: nullAsEmpty(
      z.strictObject({ url: nonEmpty, prefix: z.string().optional(), maxValueBytes: positiveInt.optional() }),
    ).optional(),
    memory: emptyBlock.optional(),
  })
  .superRefine(oneKind(['fs', 'redis', 'memory']));

const computeLogsSchema = z
  .strictObject({ fs: dirBlock.optional(), memory: emptyBlock.optional() })
  .superRefine(oneKind(['fs', 'memory']));

const runCoordinatorSchema = z.strictObject({
  queued: nullAsEmpty(
    z.strictObject({
      maxConcurrentRuns: positiveInt.default(10),
      tagConcurrencyLimits: z
        .array(
          z.strictObject({
            key: nonEmpty,
            value: z.string().optional(),
            limit: z.number().int().nonnegative('must be 0 or more'),
          }),
        )
        .default([]),
    }),
  ).optional(),
});

const executionSchema = z.strictObject({
  queue: nullAsEmpty(
    z.strictObject({
      redisUrl: nonEmpty.optional(),
      prefix: nonEmpty.optional(),
      defaultQueue: nonEmpty.optional(),
      lockDurationMs: positiveInt.optional(),
      maxStepsInFlight: positiveInt.optional(),
      queueTimeoutMs: positiveInt.optional(),
    }),
  ).optional(),
});

/** The schema of `stepwise.yaml` as written (before defaults and dir resolution). */
export const instanceConfigSchema = z.strictObject({
  storage: storageSchema.optional(),
  io: ioSchema.optional(),
  computeLogs: computeLogsSchema.optional(),
  runCoordinator: nullAsEmpty(runCoordinatorSchema).optional(),
  execution: nullAsEmpty(executionSchema).optional(),
});

/** `stepwise.yaml` as a user may write it: every key optional. A resolved InstanceConfig is also valid input. */
export type InstanceConfigInput = z.input<typeof instanceConfigSchema>;

export interface ParseInstanceConfigOptions {
  /** The instance home: default dirs are `<home>/storage`, `<home>/io`, `<home>/logs`. */
  home: string;
  /** Relative dirs resolve against this. Default: `home`. */
  baseDir?: string;
  /** Names the document in errors, e.g. the file path. */
  source?: string;
}

/** The home directory: `home` ?? `$STEPWISE_HOME` ?? `./.stepwise`, made absolute against the cwd. */
export function resolveHome(home?: string): string {
  return resolve(home ?? (process.env.STEPWISE_HOME || './.stepwise'));
}

/** Validates an instance config document, applies defaults and makes dirs absolute. Throws ConfigError. */
export function parseInstanceConfig(input: unknown, options: ParseInstanceConfigOptions): InstanceConfig {
  const home = resolve(options.home);
  const base = resolve(options.baseDir ?? home);
  const doc = input ?? {};
  const parsed = instanceConfigSchema.safeParse(doc);
  if (!parsed.success) {
    const what = options.source ? `instance config '${options.source}'` : 'instance config';
    throw new ConfigError(what, formatZodIssues(parsed.error.issues, doc));
  }
  const raw = parsed.data;
  const dir = (given: string | undefined, fallback: string) =>
    given === undefined ? join(home, fallback) : isAbsolute(given) ? given : resolve(base, given);

  let storage: StorageConfig;
  if (raw.storage?.postgres) {
    const { url, schema } = raw.storage.postgres;
    storage = { postgres: schema === undefined ? { url } : { url, schema } };
  } else if (raw.storage?.memory) storage = { memory: {} };
  else storage = { sqlite: { dir: dir(raw.storage?.sqlite?.dir, 'storage') } };

  let io: IOConfig;
  if (raw.io?.redis) {
    const redis: RedisIOConfig = { url: raw.io.redis.url };
    if (raw.io.redis.prefix !== undefined) redis.prefix = raw.io.redis.prefix;
    if (raw.io.redis.maxValueBytes !== undefined) redis.maxValueBytes = raw.io.redis.maxValueBytes;
    io = { redis };
  } else if (raw.io?.memory) io = { memory: {} };
  else io = { fs: { dir: dir(raw.io?.fs?.dir, 'io') } };

  const computeLogs: ComputeLogsConfig = raw.computeLogs?.memory
    ? { memory: {} }
    : { fs: { dir: dir(raw.computeLogs?.fs?.dir, 'logs') } };

  const runCoordinator: RunCoordinatorConfig = {};
  const queued = raw.runCoordinator?.queued;
  if (queued) {
    runCoordinator.queued = {
      maxConcurrentRuns: queued.maxConcurrentRuns,
      tagConcurrencyLimits: queued.tagConcurrencyLimits.map((l) =>
        l.value === undefined ? { key: l.key, limit: l.limit } : { key: l.key, value: l.value, limit: l.limit },
      ),
    };
  }
  const execution: ExecutionDefaults = {};
  if (raw.execution?.queue) {
    execution.queue = Object.fromEntries(
      Object.entries(raw.execution.queue).filter(([, v]) => v !== undefined),
    ) as QueueExecutionDefaults;
  }
  return { storage, io, computeLogs, runCoordinator, execution };
}

/**
 * Reads `<home>/stepwise.yaml` (home: argument ?? `$STEPWISE_HOME` ?? `./.stepwise`). A missing file means all
 * defaults. Relative dirs in the file resolve against the file's directory. Malformed YAML or invalid values
 * throw a ConfigError naming the file (and line/column for syntax errors).
 */
export function loadInstanceConfig(home?: string): InstanceConfig {
  const root = resolveHome(home);
  const file = join(root, INSTANCE_CONFIG_FILE);
  if (!existsSync(file)) return parseInstanceConfig({}, { home: root });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LoadError(`instance config '${file}' cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return parseInstanceConfig(parseYaml(text, file), { home: root, baseDir: root, source: file });
}
