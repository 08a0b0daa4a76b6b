import {
  type InstanceConfig,
  type InstanceConfigInput,
  loadInstanceConfig,
  resolveHome,
  resolveInstanceConfig,
} from '../config/instance-config.js';
import type { IOManager } from '../io/io-manager.js';
import { MemoryIOManager } from '../io/memory-io-manager.js';
import type { ComputeLogManager } from '../logs/compute-log-manager.js';
import { MemoryRunStorage } from '../storage/memory-storage.js';
import type { RunStorage } from '../storage/run-storage.js';
import { createInstanceParts } from './instance-parts.js';

export interface InstanceParts {
  storage: RunStorage;
  io: IOManager;
  computeLogs?: ComputeLogManager;
  /** The resolved config it was built from (instances built from parts have none). */
  config?: InstanceConfig;
  /** Its home directory, when it has one. */
  home?: string;
}

/**
 * The instance: where runs, events, intermediates and compute logs live (docs/plugins.md).
 * The CLI and library users get one from `Instance.local()` / `Instance.fromConfig()`.
 */
export class Instance {
  readonly storage: RunStorage;
  readonly io: IOManager;
  readonly computeLogs?: ComputeLogManager;
  readonly config?: InstanceConfig;
  readonly home?: string;
  private initialized?: Promise<void>;

  constructor(parts: InstanceParts) {
    this.storage = parts.storage;
    this.io = parts.io;
    this.computeLogs = parts.computeLogs;
    this.config = parts.config;
    this.home = parts.home;
  }

  /**
   * Builds storage, IO manager and compute logs from an instance config (stepwise.yaml's shape; its plugins
   * loaded, defaults applied, relative dirs resolved against `home`), creates their dirs and schema, and returns
   * the instance ready to use. Close it when done.
   */
  static async fromConfig(
    input: InstanceConfigInput | InstanceConfig = {},
    options: { home?: string } = {},
  ): Promise<Instance> {
    const home = resolveHome(options.home);
    return Instance.open(await resolveInstanceConfig(input, { home }), home);
  }

  /** The instance of `home` ?? `$STEPWISE_HOME` ?? `./.stepwise`, from its stepwise.yaml (all defaults without one). */
  static async local(home?: string): Promise<Instance> {
    const root = resolveHome(home);
    return Instance.open(await loadInstanceConfig(root), root);
  }

  private static async open(config: InstanceConfig, home: string): Promise<Instance> {
    const instance = new Instance(await createInstanceParts(config, home));
    try {
      await instance.init();
    } catch (err) {
      await instance.close().catch(() => {});
      throw err;
    }
    return instance;
  }

  /** Everything in memory: for tests and `executePipeline` calls that pass no instance. */
  static ephemeral(): Instance {
    return new Instance({ storage: new MemoryRunStorage(), io: new MemoryIOManager() });
  }

  /** Creates the storage schema once. */
  init(): Promise<void> {
    this.initialized ??= this.storage.init();
    return this.initialized;
  }

  /** Flushes compute logs and closes IO and storage; every part is closed even when an earlier one fails. */
  async close(): Promise<void> {
    const results = await Promise.allSettled([
      this.computeLogs?.flush(),
      Promise.resolve().then(() => this.io.close?.()),
      Promise.resolve().then(() => this.storage.close()),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
