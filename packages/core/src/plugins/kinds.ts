import type { Command } from 'commander';
import type { z } from 'zod';
import type { InstanceConfig } from '../config/instance-config.js';
import type { Executor } from '../execution/executor.js';
import type { IOManager } from '../io/io-manager.js';
import type { ComputeLogManager } from '../logs/compute-log-manager.js';
import type { RunStorage } from '../storage/run-storage.js';

/** What an instance kind's options schema may depend on: where the instance lives. */
export interface ConfigContext {
  /** The instance home (`$STEPWISE_HOME`, default `./.stepwise`), absolute. */
  readonly home: string;
  /** Relative paths in the document resolve against this: the directory of stepwise.yaml. */
  readonly baseDir: string;
  /** `given` made absolute against `baseDir`, or `<home>/<fallback>` when not given. */
  dir(given: string | undefined, fallback: string): string;
}

/** What an instance kind's factory gets besides its options. */
export interface InstanceContext {
  readonly home: string;
  /** The whole resolved stepwise.yaml. */
  readonly config: InstanceConfig;
}

interface KindBase {
  /** Its key in the config block: `execution.<kind>`, `storage.<kind>`, `io.<kind>`, `computeLogs.<kind>`. */
  readonly kind: string;
  /** One line, shown in help and in error messages. */
  readonly description: string;
}

/**
 * An executor kind: `execution: { <kind>: options }` in a run config (exactly one) and in stepwise.yaml (defaults),
 * and `stepwise run --executor <kind in kebab-case>`.
 */
export interface ExecutorKind<S extends z.ZodType = z.ZodType> extends KindBase {
  /** The options as written. Keep it strict and every key optional: stepwise.yaml's and the run config's merge. */
  readonly options: S;
  /** Applied under stepwise.yaml's `execution.<kind>`, which the run config's options override. */
  readonly defaults?: Partial<z.output<S>>;
  create(options: z.output<S>): Executor | Promise<Executor>;
}

/** A kind of an instance part (storage, IO manager, compute logs) in stepwise.yaml: `<block>: { <kind>: options }`. */
export interface InstancePartKind<T, S extends z.ZodType = z.ZodType> extends KindBase {
  /** The options as written; a function when defaults depend on the home (default dirs under it). */
  readonly options: S | ((context: ConfigContext) => S);
  create(options: z.output<S>, context: InstanceContext): T | Promise<T>;
}

export type StorageKind<S extends z.ZodType = z.ZodType> = InstancePartKind<RunStorage, S>;
export type IOManagerKind<S extends z.ZodType = z.ZodType> = InstancePartKind<IOManager, S>;
export type ComputeLogsKind<S extends z.ZodType = z.ZodType> = InstancePartKind<ComputeLogManager, S>;

/**
 * A top-level section of stepwise.yaml that a plugin owns (e.g. the daemon's `scheduler:`), validated by its own
 * schema, defaults applied. Read it back with {@link readSection}.
 */
export interface ConfigSection<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  /** The section as written. YAML's `name:` with no value reads as `{}`. */
  readonly schema: S;
}

/**
 * What a package (or a module named in stepwise.yaml's `plugins`) provides. Export it as `plugin`; Stepwise
 * registers it when it loads the module, or call {@link registerPlugin} yourself.
 */
export interface StepwisePlugin {
  /** The package or module name, for messages. */
  readonly name: string;
  readonly executors?: readonly ExecutorKind[];
  readonly storage?: readonly StorageKind[];
  readonly io?: readonly IOManagerKind[];
  readonly computeLogs?: readonly ComputeLogsKind[];
  /** Top-level sections of stepwise.yaml it owns. */
  readonly sections?: readonly ConfigSection[];
  /** Adds the package's `stepwise` commands. Actions throw StepwiseErrors for misuse (exit 2). */
  registerCommands?(program: Command): void | Promise<void>;
}

/** Identity, for type inference: each kind's `create` is checked against its own options schema. */
export function defineExecutor<S extends z.ZodType>(kind: ExecutorKind<S>): ExecutorKind<S> {
  return kind;
}

/** Identity, for type inference (see {@link defineExecutor}). */
export function defineInstancePart<T, S extends z.ZodType>(kind: InstancePartKind<T, S>): InstancePartKind<T, S> {
  return kind;
}

/** Identity, for type inference (see {@link defineExecutor}). */
export function defineSection<S extends z.ZodType>(section: ConfigSection<S>): ConfigSection<S> {
  return section;
}

/** A plugin's section of a resolved stepwise.yaml, as its schema parsed it; undefined when the file leaves it out. */
export function readSection<S extends z.ZodType>(
  config: InstanceConfig,
  section: ConfigSection<S>,
): z.output<S> | undefined {
  return config.sections?.[section.name] as z.output<S> | undefined;
}

/** Identity, for type checking a plugin object. */
export function definePlugin(plugin: StepwisePlugin): StepwisePlugin {
  return plugin;
}
