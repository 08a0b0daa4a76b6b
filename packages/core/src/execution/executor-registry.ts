import type { ExecutionDefaults } from '../config/instance-config.js';
import type { ExecutionConfig } from '../config/run-config.js';
import { ConfigError } from '../errors/index.js';
import type { Executor } from './executor.js';
import { InProcessExecutor } from './executors/in-process.js';
import { MultiprocessExecutor } from './executors/multiprocess.js';

/** Builds an executor from its block of `execution` in the run config. */
export type ExecutorFactory = (config: Record<string, unknown>) => Executor | Promise<Executor>;

const factories = new Map<string, ExecutorFactory>([
  ['inProcess', (config) => new InProcessExecutor(config as { maxConcurrent?: number })],
  ['multiprocess', (config) => new MultiprocessExecutor(config as { maxConcurrent?: number })],
]);

/** Packages that provide an executor kind, loaded on first use so core does not depend on them. */
const providers: Record<string, string> = { queue: '@stepwise/executor-queue' };

/** Makes an executor kind available to run configs (`execution: { <kind>: {...} }`) and `--executor`. */
export function registerExecutor(kind: string, factory: ExecutorFactory): void {
  factories.set(kind, factory);
}

/**
 * The executor a run config asks for; in-process when it names none. `defaults` are the instance's
 * (`execution` in stepwise.yaml): the run config's options win over them.
 */
export async function executorFromConfig(
  execution: ExecutionConfig | undefined,
  defaults?: ExecutionDefaults,
): Promise<Executor> {
  const [kind, given] = Object.entries(execution ?? {}).find(([, v]) => v !== undefined) ?? ['inProcess', {}];
  const base = (defaults as Record<string, object | undefined> | undefined)?.[kind];
  const config = { ...base, ...(given as Record<string, unknown> | undefined) };
  let factory = factories.get(kind);
  const provider = providers[kind];
  if (!factory && provider) {
    try {
      // A variable specifier: core must not depend on the package at build time.
      await import(provider);
    } catch (error) {
      throw new ConfigError('run config', [
        { path: `execution.${kind}`, message: `needs the package ${provider}: ${(error as Error).message}` },
      ]);
    }
    factory = factories.get(kind);
  }
  if (!factory) {
    throw new ConfigError('run config', [{ path: `execution.${kind}`, message: 'no such executor is registered' }]);
  }
  return factory((config ?? {}) as Record<string, unknown>);
}
