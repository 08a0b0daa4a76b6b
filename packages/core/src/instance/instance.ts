import type { ComputeLogManager } from '../logs/compute-log-manager.js';
import type { IOManager } from '../io/io-manager.js';
import { MemoryIOManager } from '../io/memory-io-manager.js';
import type { RunStorage } from '../storage/run-storage.js';
import { MemoryRunStorage } from '../storage/memory-storage.js';

export interface InstanceParts {
  storage: RunStorage;
  io: IOManager;
  computeLogs?: ComputeLogManager;
}

/**
 * The instance: where runs, events, intermediates and compute logs live (SPEC §6).
 * The CLI and library users get one from `Instance.local()` / `Instance.fromConfig()`.
 */
export class Instance {
  readonly storage: RunStorage;
  readonly io: IOManager;
  readonly computeLogs?: ComputeLogManager;
  private initialized?: Promise<void>;

  constructor(parts: InstanceParts) {
    this.storage = parts.storage;
    this.io = parts.io;
    this.computeLogs = parts.computeLogs;
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

  async close(): Promise<void> {
    await this.computeLogs?.flush();
    await this.io.close?.();
    await this.storage.close();
  }
}
