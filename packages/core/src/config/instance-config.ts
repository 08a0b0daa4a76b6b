import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, LoadError } from '../errors/index.js';
import { nullAsEmpty } from '../plugins/kind-registry.js';
import type { ConfigContext } from '../plugins/kinds.js';
import { KNOWN_PACKAGES } from '../plugins/known-packages.js';
import { loadPlugin, loadPluginsFor, loadPluginsForSections } from '../plugins/load-plugins.js';
import { computeLogKinds, configSections, executorKinds, ioKinds, storageKinds } from '../plugins/registry.js';
import { isPlainObject } from './deep-merge.js';
import { formatZodIssues } from './format-issues.js';
import { parseYaml } from './load-yaml.js';
import { resolveEnvRefs } from './resolve-env.js';

/** The instance config file's name inside the home directory. */
export const INSTANCE_CONFIG_FILE = 'stepwise.yaml';

/**
 * A `{ <kind>: options }` block of stepwise.yaml with its one kind set, options as that kind resolved them (dirs
 * absolute). The kinds are those plugins register (see registerPlugin); core's own are listed in docs/plugins.md.
 */
export type KindConfig = Record<string, Record<string, unknown>>;

/** Where runs and events live. Default `{ sqlite: { dir: '<home>/storage' } }`. */
export type StorageConfig = KindConfig;
/** Where step outputs live. Default `{ fs: { dir: '<home>/io' } }`. */
export type IOConfig = KindConfig;
/** Where captured step stdout/stderr goes. Default `{ fs: { dir: '<home>/logs' } }`. */
export type ComputeLogsConfig = KindConfig;
/** Instance-wide options per executor kind (`execution.<kind>`); the run config's `execution` wins over them. */
export type ExecutionDefaults = Record<string, Record<string, unknown>>;

/**
 * A limit on runs in progress carrying tag `key`: only those whose value is `value` when given; per distinct value
 * with `perUniqueValue`; else all runs that have the tag, together.
 */
export interface TagConcurrencyLimit {
  key: string;
  value?: string;
  perUniqueValue?: boolean;
  limit: number;
}

export interface QueuedRunCoordinatorConfig {
  /** Runs STARTING or STARTED at once. Default 10. */
  maxConcurrentRuns: number;
  /** A run waits at most this long past the moment a slot frees. Default 1 000. */
  dequeueIntervalMs: number;
  /** Default none. */
  tagConcurrencyLimits: TagConcurrencyLimit[];
}

export interface RunCoordinatorConfig {
  /** When absent, runs launch at once; when present, they queue under these limits. */
  queued?: QueuedRunCoordinatorConfig;
}

/** A resolved `stepwise.yaml` (docs/plugins.md): every key present, every dir absolute. */
export interface InstanceConfig {
  /** Plugin modules loaded before the rest is read, paths made absolute; present when given. */
  plugins?: string[];
  storage: StorageConfig;
  io: IOConfig;
  /**
   * True when stepwise.yaml names no `io` (the default fs directory): an executor whose steps run on other machines
   * then uses a store they all reach (the queue executor: Redis) instead of this machine's directory.
   */
  ioDefaulted?: true;
  computeLogs: ComputeLogsConfig;
  runCoordinator: RunCoordinatorConfig;
  execution: ExecutionDefaults;
  /** The sections plugins own (see ConfigSection, readSection), as their schemas parsed them; present when given. */
  sections?: Record<string, unknown>;
}

const nonEmpty = z.string().min(1, 'must not be empty');
const positiveInt = z.number().int().positive('must be greater than 0');

/** `runCoordinator` of stepwise.yaml (exported for the generated configuration reference). */
export const runCoordinatorSchema = z.strictObject({
  queued: nullAsEmpty(
    z.strictObject({
      maxConcurrentRuns: positiveInt.default(10),
      dequeueIntervalMs: positiveInt.default(1_000),
      tagConcurrencyLimits: z
        .array(
          z
            .strictObject({
              key: nonEmpty,
              value: z.string().optional(),
              perUniqueValue: z.boolean().optional(),
              limit: z.number().int().nonnegative('must be 0 or more'),
            })
            .refine((l) => !(l.value !== undefined && l.perUniqueValue), {
              message: 'give value or perUniqueValue, not both',
            }),
        )
        .default([]),
    }),
  ).optional(),
});

/** The kind each block takes when stepwise.yaml leaves it out. */
const DEFAULT_KINDS = { storage: 'sqlite', io: 'fs', computeLogs: 'fs' } as const;

/** The sections known packages own, by name, while the package is not loaded: naming one says where it comes from. */
function unloadedSections(): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const known of KNOWN_PACKAGES) {
    for (const name of known.sections ?? []) {
      if (configSections().has(name)) continue;
      const message = `the '${name}' section comes from ${known.package}, which is not loaded: register its plugin first (registerPlugin(plugin) with the plugin it exports, or loadPlugins(['${known.package}']))`;
      shape[name] = z
        .unknown()
        .superRefine((_, ctx) => ctx.addIssue({ code: 'custom', message }))
        .optional();
    }
  }
  return shape;
}

function buildSchema(context: ConfigContext) {
  const sections = Object.fromEntries(
    [...configSections().values()].map((section) => [section.name, nullAsEmpty(section.schema).optional()]),
  );
  return z.strictObject({
    ...unloadedSections(),
    ...sections,
    plugins: z.array(nonEmpty).optional(),
    storage: storageKinds.blockSchema('one', context).optional(),
    io: ioKinds.blockSchema('one', context).optional(),
    computeLogs: computeLogKinds.blockSchema('one', context).optional(),
    runCoordinator: nullAsEmpty(runCoordinatorSchema).optional(),
    execution: nullAsEmpty(executorKinds.blockSchema('any')).optional(),
  });
}

// zod compiles a schema on its first parse: building one per call made parsing ten times slower.
const schemas = new Map<string, { parts: unknown[]; schema: ReturnType<typeof buildSchema> }>();

/** The schema of `stepwise.yaml` as written, derived from the kinds and sections registered now. */
function instanceConfigSchema(context: ConfigContext) {
  const parts = [
    storageKinds.blockSchema('one', context),
    ioKinds.blockSchema('one', context),
    computeLogKinds.blockSchema('one', context),
    executorKinds.blockSchema('any'),
    ...configSections().values(),
  ];
  const key = `${context.home}\0${context.baseDir}`;
  const cached = schemas.get(key);
  if (cached?.parts.length === parts.length && cached.parts.every((b, i) => b === parts[i])) return cached.schema;
  const schema = buildSchema(context);
  if (schemas.size >= 16) schemas.clear();
  schemas.set(key, { parts, schema });
  return schema;
}

type KindBlockInput = Record<string, unknown> | null;

/** `stepwise.yaml` as a user may write it: every key optional. A resolved InstanceConfig is also valid input. */
export interface InstanceConfigInput {
  plugins?: readonly string[];
  storage?: KindBlockInput;
  io?: KindBlockInput;
  computeLogs?: KindBlockInput;
  runCoordinator?: z.input<typeof runCoordinatorSchema> | null;
  execution?: KindBlockInput;
  /** The sections plugins own. */
  [section: string]: unknown;
}

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

function contextOf(options: ParseInstanceConfigOptions): ConfigContext {
  const home = resolve(options.home);
  const baseDir = resolve(options.baseDir ?? home);
  return {
    home,
    baseDir,
    dir: (given, fallback) =>
      given === undefined ? join(home, fallback) : isAbsolute(given) ? given : resolve(baseDir, given),
  };
}

const isPath = (specifier: string) => specifier.startsWith('.') || isAbsolute(specifier);

/**
 * Validates an instance config document against the kinds registered now, applies defaults and makes dirs
 * absolute. Throws ConfigError. {@link resolveInstanceConfig} first loads the plugins the document needs.
 */
export function parseInstanceConfig(input: unknown, options: ParseInstanceConfigOptions): InstanceConfig {
  const context = contextOf(options);
  const doc = input ?? {};
  const schema = instanceConfigSchema(context);
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const what = options.source ? `instance config '${options.source}'` : 'instance config';
    throw new ConfigError(what, formatZodIssues(parsed.error.issues, doc));
  }
  const raw = parsed.data;
  const block = (slot: keyof typeof DEFAULT_KINDS, given: KindConfig | undefined): KindConfig =>
    given ?? (schema.shape[slot].parse({ [DEFAULT_KINDS[slot]]: {} }) as KindConfig);

  const runCoordinator: RunCoordinatorConfig = {};
  const queued = raw.runCoordinator?.queued;
  if (queued) {
    runCoordinator.queued = {
      maxConcurrentRuns: queued.maxConcurrentRuns,
      dequeueIntervalMs: queued.dequeueIntervalMs,
      tagConcurrencyLimits: queued.tagConcurrencyLimits.map((l) => {
        const limit: TagConcurrencyLimit = { key: l.key, limit: l.limit };
        if (l.value !== undefined) limit.value = l.value;
        if (l.perUniqueValue) limit.perUniqueValue = true;
        return limit;
      }),
    };
  }
  const config: InstanceConfig = {
    storage: block('storage', raw.storage),
    io: block('io', raw.io),
    computeLogs: block('computeLogs', raw.computeLogs),
    runCoordinator,
    execution: raw.execution ?? {},
  };
  if (raw.io === undefined) config.ioDefaulted = true;
  if (raw.plugins) config.plugins = raw.plugins.map((p) => (isPath(p) ? resolve(context.baseDir, p) : p));
  const given = [...configSections().keys()].filter((name) => (raw as Record<string, unknown>)[name] !== undefined);
  if (given.length > 0)
    config.sections = Object.fromEntries(given.map((name) => [name, (raw as Record<string, unknown>)[name]]));
  return config;
}

/**
 * Loads what an instance config document needs (the modules under `plugins`, then the known packages that
 * provide the kinds it names, e.g. @stepwise/executor-queue for `io.redis`) and parses it
 * ({@link parseInstanceConfig}). A plugin that cannot be loaded is a ConfigError at its path.
 */
export async function resolveInstanceConfig(
  input: unknown,
  options: ParseInstanceConfigOptions,
): Promise<InstanceConfig> {
  const what = options.source ? `instance config '${options.source}'` : 'instance config';
  // `{ env: NAME }` anywhere: the variable's value, kept out of runs' records and output (see resolveEnvRefs).
  const doc = resolveEnvRefs(input ?? {}, { what, as: 'plain' });
  if (isPlainObject(doc)) {
    const { baseDir } = contextOf(options);
    const plugins = Array.isArray(doc.plugins) ? doc.plugins : [];
    for (const [i, specifier] of plugins.entries()) {
      if (typeof specifier !== 'string' || specifier === '') continue;
      try {
        await loadPlugin(specifier, baseDir);
      } catch (error) {
        throw new ConfigError(what, [{ path: `plugins[${i}]`, message: (error as Error).message }], { cause: error });
      }
    }
    await loadPluginsForSections(Object.keys(doc), what);
    await loadPluginsFor(
      { storage: doc.storage, io: doc.io, computeLogs: doc.computeLogs, execution: doc.execution },
      what,
    );
  }
  return parseInstanceConfig(doc, options);
}

/**
 * Reads `<home>/stepwise.yaml` (home: argument ?? `$STEPWISE_HOME` ?? `./.stepwise`) and loads the plugins it
 * needs (see {@link resolveInstanceConfig}). A missing file means all defaults. Relative dirs in the file resolve against the file's directory. Malformed YAML or invalid values
 * throw a ConfigError naming the file (and line/column for syntax errors).
 */
export async function loadInstanceConfig(home?: string): Promise<InstanceConfig> {
  const root = resolveHome(home);
  const file = join(root, INSTANCE_CONFIG_FILE);
  if (!existsSync(file)) return parseInstanceConfig({}, { home: root });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LoadError(`instance config '${file}' cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return resolveInstanceConfig(parseYaml(text, file), { home: root, baseDir: root, source: file });
}
