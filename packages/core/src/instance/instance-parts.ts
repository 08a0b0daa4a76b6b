import type { InstanceConfig, KindConfig } from '../config/instance-config.js';
import type { KindRegistry } from '../plugins/kind-registry.js';
import type { InstanceContext, InstancePartKind } from '../plugins/kinds.js';
import { computeLogKinds, ioKinds, storageKinds } from '../plugins/registry.js';
import type { InstanceParts } from './instance.js';

async function create<T>(
  registry: KindRegistry<InstancePartKind<T>>,
  block: KindConfig,
  context: InstanceContext,
): Promise<T> {
  const [kind, options] = Object.entries(block)[0] ?? [];
  const registered = kind === undefined ? undefined : registry.get(kind);
  // parseInstanceConfig accepts registered kinds only: this is a program bug, not bad config.
  if (!registered || options === undefined) throw new Error(`no ${registry.noun} '${kind}' is registered`);
  return registered.create(options, context);
}

/**
 * Storage, IO manager and compute logs of a resolved config, each made by its registered kind. When one fails,
 * those already made are closed.
 */
export async function createInstanceParts(config: InstanceConfig, home: string): Promise<InstanceParts> {
  const context: InstanceContext = { home, config };
  const storage = await create(storageKinds, config.storage, context);
  try {
    const io = await create(ioKinds, config.io, context);
    try {
      return { storage, io, computeLogs: await create(computeLogKinds, config.computeLogs, context), config, home };
    } catch (error) {
      await Promise.resolve(io.close?.()).catch(() => {});
      throw error;
    }
  } catch (error) {
    await storage.close().catch(() => {});
    throw error;
  }
}
