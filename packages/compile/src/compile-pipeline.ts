import {
  buildPlan,
  COMPILED_PLAN_KIND,
  type CompiledPlan,
  collectSecretValues,
  type InstanceConfig,
  loadDefinitions,
  loadInstanceConfig,
  loadYamlFiles,
  type PipelineDefinition,
  redactConfig,
  redactPlan,
  resolvePipeline,
  validateRunConfig,
} from '@stepwise/core';
import { CompileError } from './errors.js';

export interface CompileOptions {
  /** The pipeline file (.ts or .js). */
  file: string;
  /** Which pipeline, when the file has several. */
  pipeline?: string;
  /** Run config YAML files, deep-merged in order. */
  configFiles?: string[];
  /** The instance the tasks will use ($STEPWISE_HOME, default ./.stepwise): checked that steps can share it. */
  home?: string;
  /** Where the tasks run: processes of one or more machines (`processes`), or pods (`pods`). */
  runsIn: 'processes' | 'pods';
}

export interface CompileResult {
  pipeline: PipelineDefinition;
  compiled: CompiledPlan;
  /** Things that work only with some setup, for the user to check (printed on stderr). */
  warnings: string[];
}

/**
 * Compiles a pipeline and its run config into a plan for another scheduler (docs/deploy/airflow.md, argo.md). Refuses what cannot work
 * when every step runs in a process of its own: an instance with in-memory runs or intermediates, and secrets in
 * the run config (they would be written into the plan beside the DAG, and shown by the scheduler).
 */
export async function compilePipeline(options: CompileOptions): Promise<CompileResult> {
  const instance = await loadInstanceConfig(options.home);
  const warnings = checkInstance(instance, options.runsIn);
  const defs = await loadDefinitions(options.file);
  const pipeline = resolvePipeline(defs, options.pipeline);
  const raw = options.configFiles && options.configFiles.length > 0 ? loadYamlFiles(options.configFiles) : {};
  const config = validateRunConfig(pipeline, raw);
  const plan = buildPlan(pipeline, config);
  const secrets = collectSecretValues(raw);
  const secretAt =
    firstDifference(raw, redactConfig(raw, { secrets }), []) ??
    firstDifference(plan, redactPlan(plan, { secrets }), ['plan']);
  if (secretAt !== undefined) {
    throw new CompileError(
      `the run config holds a secret at ${secretAt}: a compiled plan is a file beside the DAG (and Airflow and Argo show task arguments), so it must hold none; let the resource or op read it from the environment of the tasks (process.env), and leave it out of the run config`,
    );
  }
  const tags = { ...pipeline.tags, ...(config.tags ?? {}) };
  const compiled: CompiledPlan = {
    kind: COMPILED_PLAN_KIND,
    version: 1,
    pipeline: pipeline.name,
    runConfig: raw,
    tags,
    plan,
  };
  return { pipeline, compiled, warnings };
}

/** The instance must keep runs and step outputs where every task can reach them. */
function checkInstance(config: InstanceConfig, runsIn: CompileOptions['runsIn']): string[] {
  const fix = 'set it in stepwise.yaml of the instance the tasks use ($STEPWISE_HOME)';
  if ('memory' in config.io) {
    throw new CompileError(
      `io.memory keeps step outputs in one process's memory, but each step runs as a task of its own (a process or a pod): use io.fs on a volume every task can reach, or io.redis (from @stepwise/executor-queue); ${fix}`,
    );
  }
  if ('memory' in config.storage) {
    throw new CompileError(
      `storage.memory keeps runs in one process's memory, but each step runs as a task of its own: use storage.postgres (or storage.sqlite on a volume of one machine); ${fix}`,
    );
  }
  const warnings: string[] = [];
  if ('fs' in config.io) {
    warnings.push(
      `io.fs stores step outputs under ${config.io.fs.dir}: every task must see that directory at that path (one machine, or a shared volume mounted there)`,
    );
  }
  if ('sqlite' in config.storage) {
    warnings.push(
      runsIn === 'pods'
        ? `storage.sqlite keeps runs in ${config.storage.sqlite.dir}: pods on several nodes cannot share a SQLite file safely; use storage.postgres`
        : `storage.sqlite keeps runs in ${config.storage.sqlite.dir}: fine when every task runs on this machine (Airflow's LocalExecutor); with several machines use storage.postgres`,
    );
  }
  return warnings;
}

/** The path (`ops.x.config.password`) of the first value that differs between `a` and its redacted copy `b`. */
function firstDifference(a: unknown, b: unknown, path: string[]): string | undefined {
  if (a === b) return undefined;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    for (const key of Object.keys(a)) {
      const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], [
        ...path,
        key,
      ]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return path.join('.') || '(the run config)';
}
