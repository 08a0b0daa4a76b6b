import { mkdir } from 'node:fs/promises';
import {
  type InstanceConfig,
  type InstanceConfigInput,
  loadInstanceConfig,
  parseInstanceConfig,
  type RedisIOConfig,
  resolveHome,
} from '../config/instance-config.js';
import { ConfigError, StorageError } from '../errors/index.js';
import { FsIOManager } from '../io/fs-io-manager.js';
import type { IOManager } from '../io/io-manager.js';
import { MemoryIOManager } from '../io/memory-io-manager.js';
import type { ComputeLogManager } from '../logs/compute-log-manager.js';
import { FsComputeLogManager } from '../logs/fs-compute-log-manager.js';
import { MemoryComputeLogManager } from '../logs/memory-compute-log-manager.js';
import { MemoryRunStorage } from '../storage/memory-storage.js';
import { PostgresRunStorage } from '../storage/postgres/postgres-run-storage.js';
import type { RunStorage } from '../storage/run-storage.js';
import { SqliteRunStorage } from '../storage/sqlite/sqlite-run-storage.js';
import { Instance } from './instance.js';

export interface IOManagerFactoryContext {
  home: string;
  config: InstanceConfig;
}

/** Builds an IO manager from its `io.<kind>` options in stepwise.yaml. */
export type IOManagerFactory<O = Record<string, unknown>> = (
  options: O,
  context: IOManagerFactoryContext,
) => IOManager | Promise<IOManager>;

const factories = new Map<string, IOManagerFactory<never>>();

/** Packages that provide an IO manager kind, imported on demand when the config names that kind. */
const PROVIDERS: Record<string, string> = { redis: '@stepwise/executor-queue' };

/**
 * Registers the IO manager for `io.<kind>` in stepwise.yaml. @stepwise/executor-queue registers `redis` when
 * imported; a registration replaces an earlier one of the same kind (including the built-in `fs`/`memory`).
 */
export function registerIOManagerFactory(kind: 'redis', factory: IOManagerFactory<RedisIOConfig>): void;
export function registerIOManagerFactory(kind: string, factory: IOManagerFactory): void;
export function registerIOManagerFactory(kind: string, factory: IOManagerFactory<never>): void {
  factories.set(kind, factory);
}

function createStorage(config: InstanceConfig['storage']): RunStorage {
  if ('postgres' in config) return new PostgresRunStorage(config.postgres);
  if ('memory' in config) return new MemoryRunStorage();
  return new SqliteRunStorage({ dir: config.sqlite.dir });
}

async function createIO(config: InstanceConfig, home: string): Promise<IOManager> {
  const [kind, options] = Object.entries(config.io)[0] as [string, Record<string, unknown>];
  let factory = factories.get(kind);
  if (!factory && PROVIDERS[kind]) {
    const specifier = PROVIDERS[kind];
    try {
      // A variable specifier: core must not depend on the package at build time (it depends on core).
      await import(specifier);
    } catch (err) {
      throw new ConfigError('instance config', [
        {
          path: `io.${kind}`,
          message: `the '${kind}' IO manager comes from ${specifier}, which could not be loaded (${(err as Error).message}); install it or choose io.fs`,
        },
      ]);
    }
    factory = factories.get(kind);
  }
  if (factory) return (factory as IOManagerFactory<Record<string, unknown>>)(options, { home, config });
  if ('fs' in config.io) return new FsIOManager(config.io.fs.dir);
  if ('memory' in config.io) return new MemoryIOManager();
  throw new ConfigError('instance config', [
    {
      path: `io.${kind}`,
      message: `no IO manager is registered for '${kind}'; register one with registerIOManagerFactory('${kind}', ...)`,
    },
  ]);
}

function createComputeLogs(config: InstanceConfig['computeLogs']): ComputeLogManager {
  if ('memory' in config) return new MemoryComputeLogManager();
  return new FsComputeLogManager(config.fs.dir);
}

async function makeDir(dir: string, configKey: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new StorageError(
      `cannot create directory ${dir}: ${(err as Error).message}; check ${configKey} in stepwise.yaml`,
      { cause: err },
    );
  }
}

export interface FromConfigOptions {
  /** The instance home (default dirs live under it). Default `$STEPWISE_HOME` ?? `./.stepwise`. */
  home?: string;
}

/**
 * Builds an instance from a config (validated, defaults applied, relative dirs resolved against the home),
 * creates its directories and storage schema, and returns it ready to use. Close it when done.
 */
export async function createInstance(
  input: InstanceConfigInput | InstanceConfig = {},
  options: FromConfigOptions = {},
): Promise<Instance> {
  const home = resolveHome(options.home);
  const config = parseInstanceConfig(input, { home });
  if ('fs' in config.io) await makeDir(config.io.fs.dir, 'io.fs.dir');
  if ('fs' in config.computeLogs) await makeDir(config.computeLogs.fs.dir, 'computeLogs.fs.dir');
  const storage = createStorage(config.storage);
  let io: IOManager;
  try {
    io = await createIO(config, home);
  } catch (err) {
    await storage.close().catch(() => {});
    throw err;
  }
  const instance = new Instance({ storage, io, computeLogs: createComputeLogs(config.computeLogs), config, home });
  try {
    await instance.init();
  } catch (err) {
    await instance.close().catch(() => {});
    throw err;
  }
  return instance;
}

/** The instance described by `<home>/stepwise.yaml` (all defaults when there is none). What the CLI uses. */
export function loadInstance(home?: string): Promise<Instance> {
  const root = resolveHome(home);
  return createInstance(loadInstanceConfig(root), { home: root });
}
