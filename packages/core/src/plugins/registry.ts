import { corePlugin } from './core-plugin.js';
import { KindRegistry } from './kind-registry.js';
import type {
  ComputeLogsKind,
  ConfigSection,
  ExecutorKind,
  IOManagerKind,
  StepwisePlugin,
  StorageKind,
} from './kinds.js';

/** Executors: `execution` in run configs and stepwise.yaml, `--executor`. */
export const executorKinds = new KindRegistry<ExecutorKind>('execution', 'executor', () => corePlugin.executors ?? []);
/** Storage backends: `storage` in stepwise.yaml. */
export const storageKinds = new KindRegistry<StorageKind>('storage', 'storage backend', () => corePlugin.storage ?? []);
/** IO managers: `io` in stepwise.yaml. */
export const ioKinds = new KindRegistry<IOManagerKind>('io', 'IO manager', () => corePlugin.io ?? []);
/** Compute log managers: `computeLogs` in stepwise.yaml. */
export const computeLogKinds = new KindRegistry<ComputeLogsKind>(
  'computeLogs',
  'compute log manager',
  () => corePlugin.computeLogs ?? [],
);

const plugins = new Set<StepwisePlugin>();
const sections = new Map<string, ConfigSection>();

/** The top-level stepwise.yaml sections plugins registered, by name. */
export function configSections(): ReadonlyMap<string, ConfigSection> {
  return sections;
}

/**
 * Registers what a plugin provides: its executor, storage, IO manager and compute log kinds (a kind of the same
 * name, core's included, is replaced) and its stepwise.yaml sections. Registering the same plugin object again does nothing.
 */
export function registerPlugin(plugin: StepwisePlugin): void {
  if (plugins.has(plugin)) return;
  plugins.add(plugin);
  for (const k of plugin.executors ?? []) executorKinds.register(k);
  for (const k of plugin.storage ?? []) storageKinds.register(k);
  for (const k of plugin.io ?? []) ioKinds.register(k);
  for (const k of plugin.computeLogs ?? []) computeLogKinds.register(k);
  for (const section of plugin.sections ?? []) sections.set(section.name, section);
}
