import { isPlainObject } from '../config/deep-merge.js';
import { loadYamlFiles } from '../config/load-yaml.js';
import { UsageError } from '../errors/index.js';
import type { RunHandle } from '../execution/run-handle.js';
import type { RunResult } from '../execution/run-result.js';
import { Instance } from '../instance/instance.js';
import { executorKinds } from '../plugins/registry.js';
import { EXIT } from './errors.js';
import type { RunPrinter } from './output.js';

/** `--executor` values (each executor kind in kebab-case: `inProcess` is `in-process`) and the kind each selects. */
export function executorChoices(): Map<string, string> {
  return new Map(executorKinds.names().map((kind) => [kind.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), kind]));
}

/** `k=v` pairs of `--tag` options. */
export function parseTags(values: readonly string[] | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const value of values ?? []) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag '${value}' is not of the form key=value`);
    tags[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return tags;
}

/** The `-c` files deep-merged in order (later wins), or `{}` when none is given. */
export function loadRunConfig(files: readonly string[] | undefined): Record<string, unknown> {
  return files && files.length > 0 ? loadYamlFiles(files) : {};
}

/**
 * Replaces the run config's `execution` block with the executor `--executor` names, keeping its options if given.
 * Call it once the instance is open: the kinds its stepwise.yaml's plugins register count.
 */
export function applyExecutor(
  runConfig: Record<string, unknown>,
  executor: string | undefined,
): Record<string, unknown> {
  if (executor === undefined) return runConfig;
  const choices = executorChoices();
  const kind = choices.get(executor);
  if (!kind) {
    throw new UsageError(`--executor '${executor}' is unknown; use one of: ${[...choices.keys()].join(', ')}`);
  }
  const current = isPlainObject(runConfig.execution) ? runConfig.execution : {};
  return { ...runConfig, execution: { [kind]: current[kind] ?? {} } };
}

/** A positive integer option. */
export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** Opens the local instance ($STEPWISE_HOME or ./.stepwise), runs `fn`, and closes it. */
export async function withInstance<T>(fn: (instance: Instance) => Promise<T>): Promise<T> {
  const instance = await Instance.local();
  try {
    return await fn(instance);
  } finally {
    await instance.close();
  }
}

/**
 * Waits for a run started in this process, printing it; the first SIGINT/SIGTERM cancels it (steps see
 * `ctx.signal`), a second one exits at once. Returns the exit code: 0 on success, 1 on failure or cancellation.
 */
export async function followRun(handle: RunHandle, printer: RunPrinter): Promise<number> {
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\nstepwise: ${signal}: canceling run ${handle.runId} (again to exit at once)\n`);
      handle.cancel(`canceled by ${signal}`);
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: RunResult;
  try {
    result = await handle.result;
  } catch (error) {
    printer.stop();
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  printer.finish(result);
  return result.status === 'SUCCESS' ? EXIT.success : EXIT.runFailed;
}
