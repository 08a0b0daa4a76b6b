import { z } from 'zod';
import type { InputBinding, NodeSpec } from '../definitions/composition.js';
import type { OpDefinition } from '../definitions/op.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { ConfigError, type ConfigIssue } from '../errors/index.js';
import { executorKinds } from '../plugins/registry.js';
import { isPlainObject } from './deep-merge.js';
import { describeType, didYouMean, formatPath, formatZodIssues, strippedKeys } from './format-issues.js';
import { revealSecrets } from './redact.js';
import { resolveEnvRefs } from './resolve-env.js';

/** `execution`: exactly one executor kind with its options; the kinds are the registered ones (see registerPlugin). */
export type ExecutionConfig = Record<string, Record<string, unknown>>;

/** The schema of `execution`, derived from the executor kinds registered now. */
export const executionSchema = (): z.ZodType<ExecutionConfig> => executorKinds.blockSchema('one');

export const tagsSchema = z.record(z.string(), z.string());

/** The validated config of one step. */
export interface OpRunConfig {
  /** The op's config with defaults applied; absent when the op declares no config schema. */
  config?: unknown;
  /** Values of inputs that no upstream output feeds, as given. */
  inputs?: Record<string, unknown>;
}

/** A run config after {@link validateRunConfig}. */
export interface RunConfig {
  /** By step key; present for every step whose op has a config schema or that was given inputs. */
  ops: Record<string, OpRunConfig>;
  /** By resource name; present for every resource of the pipeline. */
  resources: Record<string, { config?: unknown }>;
  execution?: ExecutionConfig;
  tags?: Record<string, string>;
}

export interface ValidateRunConfigOptions {
  /**
   * Only these steps must be fully configured (a step selection): required config and unfed inputs of
   * other steps may be left out. What is given for any step is still validated. Default: every step.
   */
  steps?: ReadonlySet<string>;
}

type ConfigDefault = { required: true; missing: string[] } | { required: false; value: unknown };

// Per schema, computed once: pipelines share ops, and a 100k-step plan must not run zod per step.
// The default is parsed once and shared, so a default made by a function is made once per schema.
const configDefaults = new WeakMap<z.ZodType, ConfigDefault>();
const optionalInputs = new WeakMap<z.ZodType, boolean>();

/** What a config schema yields when its config is left out, or that it is required. */
export function configDefaultOf(schema: z.ZodType): ConfigDefault {
  let d = configDefaults.get(schema);
  if (d === undefined) {
    const none = schema.safeParse(undefined);
    if (none.success) d = { required: false, value: none.data };
    else {
      const empty = schema.safeParse({});
      d = empty.success
        ? { required: false, value: empty.data }
        : {
            required: true,
            missing: formatZodIssues(empty.error.issues, {})
              .filter((i) => i.message === 'required')
              .map((i) => i.path),
          };
    }
    configDefaults.set(schema, d);
  }
  return d;
}

export function inputIsOptional(schema: z.ZodType): boolean {
  let optional = optionalInputs.get(schema);
  if (optional === undefined) {
    optional = schema.safeParse(undefined).success;
    optionalInputs.set(schema, optional);
  }
  return optional;
}

export function describeBinding(binding: InputBinding): string {
  switch (binding.kind) {
    case 'output':
      return `step '${binding.node}' output '${binding.output}'`;
    case 'fanIn':
      return `the fan-in of ${binding.sources.map((s) => `'${s.node}.${s.output}'`).join(', ')}`;
    case 'mapped':
      return `the items of dynamic output '${binding.node}.${binding.output}' (.map())`;
    case 'collect':
      return `the collected outputs of '${binding.node}.${binding.output}' (.collect())`;
  }
}

const isEmptyObject = (v: unknown) => isPlainObject(v) && Object.keys(v).length === 0;

/** Runs config validated for a pipeline, so buildPlan does not validate them again. */
const validated = new WeakMap<RunConfig, PipelineDefinition>();

/** True when `value` was returned by {@link validateRunConfig} for this pipeline (for every step). */
export function isValidatedRunConfig(pipeline: PipelineDefinition, value: unknown): value is RunConfig {
  return typeof value === 'object' && value !== null && validated.get(value as RunConfig) === pipeline;
}

/**
 * Validates a run config (object or merged YAML) against a pipeline and returns it with defaults applied.
 * Throws a ConfigError listing every problem by dotted path (`ops.extract.config.limit: expected number,
 * got string`) so that nothing runs with a bad config.
 */
export function validateRunConfig(
  pipeline: PipelineDefinition,
  raw: unknown,
  options: ValidateRunConfigOptions = {},
): RunConfig {
  const issues: ConfigIssue[] = [];
  const issue = (path: readonly PropertyKey[], message: string) => issues.push({ path: formatPath(path), message });
  const objectAt = (path: readonly PropertyKey[], value: unknown): Record<string, unknown> | undefined => {
    if (value === undefined || value === null) return {};
    if (isPlainObject(value)) return value;
    issue(path, `expected object, got ${describeType(value)}`);
    return undefined;
  };

  // secret() values, and those read from the environment ({ env: NAME }), are validated (and given to ops) as the
  // strings they wrap; only storage and output mask them.
  const what = `run config for pipeline '${pipeline.name}'`;
  const root = objectAt([], revealSecrets(resolveEnvRefs(raw, { what, as: 'secret' })));
  if (root === undefined) throw new ConfigError(what, issues);
  for (const key of Object.keys(root)) {
    if (!['ops', 'resources', 'execution', 'tags'].includes(key)) {
      issue([key], `unknown key${didYouMean(key, ['ops', 'resources', 'execution', 'tags'])}`);
    }
  }

  const result: RunConfig = { ops: {}, resources: {} };
  validateOps(pipeline, objectAt(['ops'], root.ops), options.steps, result, issue, issues);
  validateResources(pipeline, objectAt(['resources'], root.resources), result, issue, issues);

  if (root.execution !== undefined && root.execution !== null) {
    const parsed = executionSchema().safeParse(root.execution);
    if (parsed.success) result.execution = parsed.data;
    else issues.push(...formatZodIssues(parsed.error.issues, root.execution, ['execution']));
  }
  if (root.tags !== undefined && root.tags !== null) {
    const parsed = tagsSchema.safeParse(root.tags);
    if (parsed.success) result.tags = parsed.data;
    else issues.push(...formatZodIssues(parsed.error.issues, root.tags, ['tags']));
  }

  if (issues.length > 0) throw new ConfigError(what, issues);
  if (options.steps === undefined) validated.set(result, pipeline);
  return result;
}

type Report = (path: readonly PropertyKey[], message: string) => void;

function validateOps(
  pipeline: PipelineDefinition,
  rawOps: Record<string, unknown> | undefined,
  only: ReadonlySet<string> | undefined,
  result: RunConfig,
  issue: Report,
  issues: ConfigIssue[],
): void {
  const entries = new Map<string, Record<string, unknown>>();
  for (const [name, value] of Object.entries(rawOps ?? {})) {
    if (!pipeline.nodes.has(name)) {
      issue(
        ['ops', name],
        `unknown key: pipeline '${pipeline.name}' has no step '${name}'${didYouMean(name, pipeline.nodes.keys())}`,
      );
      continue;
    }
    if (value === undefined || value === null) continue;
    if (!isPlainObject(value)) {
      issue(['ops', name], `expected object, got ${describeType(value)}`);
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key !== 'config' && key !== 'inputs')
        issue(['ops', name, key], `unknown key${didYouMean(key, ['config', 'inputs'])}`);
    }
    entries.set(name, value);
  }
  // A ops entry that is not an object was reported; do not also report its config as missing.
  const broken = (name: string) =>
    rawOps !== undefined && rawOps[name] !== undefined && rawOps[name] !== null && !entries.has(name);

  for (const node of pipeline.nodes.values()) {
    const entry = entries.get(node.name);
    const checkRequired = (only === undefined || only.has(node.name)) && rawOps !== undefined && !broken(node.name);
    const out: OpRunConfig = {};
    let keep = false;
    const schema = node.op.configSchema;
    const rawConfig = entry?.config;
    if (schema === undefined) {
      if (rawConfig !== undefined && rawConfig !== null && !isEmptyObject(rawConfig)) {
        issue(['ops', node.name, 'config'], `op '${node.op.name}' takes no config`);
      }
    } else if (rawConfig === undefined) {
      const d = configDefaultOf(schema);
      if (!d.required) {
        out.config = d.value;
        keep = true;
      } else if (checkRequired) {
        const missing = d.missing.length ? ` (op '${node.op.name}' needs ${d.missing.join(', ')})` : '';
        issue(['ops', node.name, 'config'], `required${missing}`);
      }
    } else {
      const parsed = schema.safeParse(rawConfig);
      const unknown = strippedKeys(schema, rawConfig, ['ops', node.name, 'config']);
      if (parsed.success && unknown.length === 0) {
        out.config = parsed.data;
        keep = true;
      } else if (!parsed.success)
        issues.push(...formatZodIssues(parsed.error.issues, rawConfig, ['ops', node.name, 'config']));
      issues.push(...unknown);
    }

    const inputs = validateInputs(node, entry?.inputs, checkRequired, issue, issues);
    if (inputs !== undefined) {
      out.inputs = inputs;
      keep = true;
    }
    if (keep) result.ops[node.name] = out;
  }
}

const inputNames = new WeakMap<OpDefinition, string[]>();
function inputNamesOf(op: OpDefinition): string[] {
  let names = inputNames.get(op);
  if (!names) {
    names = Object.keys(op.ins);
    inputNames.set(op, names);
  }
  return names;
}

/** Validates `ops.<node>.inputs`; returns the given values, or undefined when none were given. */
function validateInputs(
  node: NodeSpec,
  rawInputs: unknown,
  checkRequired: boolean,
  issue: Report,
  issues: ConfigIssue[],
): Record<string, unknown> | undefined {
  const base = ['ops', node.name, 'inputs'];
  let given: Record<string, unknown> = {};
  if (rawInputs !== undefined && rawInputs !== null) {
    if (!isPlainObject(rawInputs)) {
      issue(base, `expected object, got ${describeType(rawInputs)}`);
      return undefined;
    }
    given = rawInputs;
  }
  const names = inputNamesOf(node.op);
  let out: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(given)) {
    // Own keys only: `constructor` or `toString` must not find Object.prototype's members.
    const schema = Object.hasOwn(node.op.ins, name) ? node.op.ins[name] : undefined;
    if (schema === undefined) {
      const declared = names.length ? names.map((n) => `'${n}'`).join(', ') : 'none';
      issue([...base, name], `unknown key: op '${node.op.name}' has no input '${name}' (inputs: ${declared})`);
      continue;
    }
    const binding = Object.hasOwn(node.inputs, name) ? node.inputs[name] : undefined;
    if (binding !== undefined) {
      const path = formatPath([...base, name]);
      issue([...base, name], `input fed twice: ${path} is also fed by ${describeBinding(binding)}`);
      continue;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      issues.push(...formatZodIssues(parsed.error.issues, value, [...base, name]));
      continue;
    }
    // The raw value is kept: the step validates (and transforms) its inputs itself when it runs.
    out ??= {};
    out[name] = value;
  }
  if (checkRequired) {
    for (const name of names) {
      if (Object.hasOwn(node.inputs, name) || Object.hasOwn(given, name)) continue;
      if (inputIsOptional(node.op.ins[name] as z.ZodType)) continue;
      issue(
        [...base, name],
        `required: input '${name}' of step '${node.name}' is not fed by any upstream output; give it a value here`,
      );
    }
  }
  return out;
}

function validateResources(
  pipeline: PipelineDefinition,
  rawResources: Record<string, unknown> | undefined,
  result: RunConfig,
  issue: Report,
  issues: ConfigIssue[],
): void {
  const declared = Object.keys(pipeline.resources);
  const entries = new Map<string, Record<string, unknown>>();
  for (const [name, value] of Object.entries(rawResources ?? {})) {
    if (!Object.hasOwn(pipeline.resources, name)) {
      issue(
        ['resources', name],
        `unknown key: pipeline '${pipeline.name}' has no resource '${name}'${didYouMean(name, declared)}`,
      );
      continue;
    }
    if (value === undefined || value === null) continue;
    if (!isPlainObject(value)) {
      issue(['resources', name], `expected object, got ${describeType(value)}`);
      continue;
    }
    for (const key of Object.keys(value)) if (key !== 'config') issue(['resources', name, key], 'unknown key');
    entries.set(name, value);
  }
  for (const [name, definition] of Object.entries(pipeline.resources)) {
    const raw = entries.get(name)?.config;
    const schema = definition.configSchema;
    if (schema === undefined) {
      if (raw !== undefined && raw !== null && !isEmptyObject(raw)) {
        issue(['resources', name, 'config'], `resource '${name}' takes no config`);
      }
      result.resources[name] = {};
    } else if (raw === undefined) {
      const d = configDefaultOf(schema);
      if (d.required) {
        if (rawResources !== undefined) {
          const missing = d.missing.length ? ` (resource '${name}' needs ${d.missing.join(', ')})` : '';
          issue(['resources', name, 'config'], `required${missing}`);
        }
      } else result.resources[name] = { config: d.value };
    } else {
      const parsed = schema.safeParse(raw);
      const unknown = strippedKeys(schema, raw, ['resources', name, 'config']);
      if (parsed.success) result.resources[name] = { config: parsed.data };
      else issues.push(...formatZodIssues(parsed.error.issues, raw, ['resources', name, 'config']));
      issues.push(...unknown);
    }
  }
}
