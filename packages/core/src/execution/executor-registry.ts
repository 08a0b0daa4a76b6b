import { formatZodIssues } from '../config/format-issues.js';
import type { ExecutionDefaults } from '../config/instance-config.js';
import type { ExecutionConfig } from '../config/run-config.js';
import { ConfigError } from '../errors/index.js';
import { loadPluginsFor } from '../plugins/load-plugins.js';
import { executorKinds } from '../plugins/registry.js';
import type { Executor } from './executor.js';

/**
 * The executor a run config's `execution` block asks for; in-process when it names none. `defaults` are the
 * instance's (`execution` in stepwise.yaml): the kind's own defaults, then those, then the run config's options.
 * A kind a known package provides (`queue`) loads that package on first use.
 */
export async function executorFromConfig(
  execution: ExecutionConfig | undefined,
  defaults?: ExecutionDefaults,
): Promise<Executor> {
  const [kind, given] = Object.entries(execution ?? {}).find(([, v]) => v !== undefined) ?? ['inProcess', {}];
  await loadPluginsFor({ execution: { [kind]: given } }, 'run config');
  const registered = executorKinds.get(kind);
  if (!registered) {
    throw new ConfigError('run config', [{ path: `execution.${kind}`, message: executorKinds.problem(kind) }]);
  }
  const merged = { ...registered.defaults, ...defaults?.[kind], ...given };
  const parsed = registered.options.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError('run config', formatZodIssues(parsed.error.issues, merged, ['execution', kind]));
  }
  return registered.create(parsed.data);
}

/** Loads the packages that provide the executor a raw run config names, so that it validates (see loadPluginsFor). */
export function loadExecutorPlugin(runConfig: unknown): Promise<void> {
  const execution = (runConfig as { execution?: unknown } | null | undefined)?.execution;
  return loadPluginsFor({ execution }, 'run config');
}
