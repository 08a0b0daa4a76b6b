import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isPlainObject } from '../config/deep-merge.js';
import { ConfigError, LoadError } from '../errors/index.js';
import { installHooks } from '../location/load-definitions.js';
import type { StepwisePlugin } from './kinds.js';
import { type KindSlot, providerOf, sectionProviderOf } from './known-packages.js';
import { computeLogKinds, configSections, executorKinds, ioKinds, registerPlugin, storageKinds } from './registry.js';

const loading = new Map<string, Promise<StepwisePlugin>>();

/** True when `error` says the package `name` itself is not installed (not one of its own imports). */
export function isMissingPackage(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`);
}

const isPath = (specifier: string) => specifier.startsWith('.') || isAbsolute(specifier);

/** A path is resolved against `from`; a package name is imported as core sees it (the same install, same core). */
const locate = (specifier: string, from: string) =>
  isPath(specifier) ? pathToFileURL(resolve(from, specifier)).href : specifier;

function pluginOf(mod: Record<string, unknown>, specifier: string): StepwisePlugin {
  const plugin = mod.plugin ?? mod.default;
  if (typeof plugin === 'object' && plugin !== null && typeof (plugin as StepwisePlugin).name === 'string') {
    return plugin as StepwisePlugin;
  }
  throw new LoadError(
    `'${specifier}' exports no Stepwise plugin: export one as \`export const plugin = definePlugin({ name, executors, storage, ... })\``,
  );
}

/**
 * Imports a plugin module (a package name, or a `.ts`/`.js` path relative to `from`) and registers the plugin it
 * exports as `plugin` (or default). Each module is loaded once. A module that cannot be loaded is a LoadError.
 */
export function loadPlugin(specifier: string, from: string = process.cwd()): Promise<StepwisePlugin> {
  const url = locate(specifier, from);
  let pending = loading.get(url);
  if (!pending) {
    pending = (async () => {
      if (isPath(specifier)) await installHooks();
      let mod: Record<string, unknown>;
      try {
        mod = (await import(url)) as Record<string, unknown>;
      } catch (error) {
        const why = isMissingPackage(error, specifier)
          ? `it is not installed (npm install ${specifier})`
          : (error as Error).message.split('\n')[0];
        throw new LoadError(`could not load the plugin '${specifier}': ${why}`, { cause: error });
      }
      const plugin = pluginOf(mod, specifier);
      registerPlugin(plugin);
      return plugin;
    })();
    loading.set(url, pending);
    pending.catch(() => loading.delete(url));
  }
  return pending;
}

/** Loads each plugin module in order (see {@link loadPlugin}). */
export async function loadPlugins(specifiers: readonly string[], from?: string): Promise<void> {
  for (const specifier of specifiers) await loadPlugin(specifier, from);
}

const registries = { execution: executorKinds, storage: storageKinds, io: ioKinds, computeLogs: computeLogKinds };

/**
 * Loads the known packages that provide the kinds a config names and that are not registered yet: e.g.
 * @stepwise/executor-queue for `execution: { queue: ... }` or `io: { redis: ... }`. Unknown kinds are left for
 * validation to report. A provider that is not installed is a ConfigError at the kind's path.
 */
export async function loadPluginsFor(blocks: Partial<Record<KindSlot, unknown>>, what = 'config'): Promise<void> {
  for (const [slot, block] of Object.entries(blocks) as [KindSlot, unknown][]) {
    if (!isPlainObject(block)) continue;
    for (const kind of Object.keys(block)) {
      const provider = providerOf(slot, kind);
      if (provider === undefined || registries[slot].get(kind)) continue;
      await loadProvider(provider, `${slot}.${kind}`, `the '${kind}' ${registries[slot].noun}`, what);
    }
  }
}

/** Loads the known packages that own the top-level stepwise.yaml sections `names` (see loadPluginsFor). */
export async function loadPluginsForSections(names: readonly string[], what = 'config'): Promise<void> {
  for (const name of names) {
    const provider = sectionProviderOf(name);
    if (provider === undefined || configSections().has(name)) continue;
    await loadProvider(provider, name, `the '${name}' section`, what);
  }
}

async function loadProvider(provider: string, path: string, thing: string, what: string): Promise<void> {
  try {
    await loadPlugin(provider);
  } catch (error) {
    const reason = (error as Error).message.replace(/^could not load the plugin '[^']+': /, '');
    throw new ConfigError(what, [{ path, message: `${thing} comes from ${provider}: ${reason}` }]);
  }
}
