import type { z } from 'zod';
import { DefinitionError } from '../errors/index.js';
import { currentComposition, type InputArg, type OpInvocationResult } from './composition.js';
import type { OpContext } from './context.js';
import { NAME_PATTERN } from './names.js';

/** Any zod schema. */
export type Schema = z.ZodType;

/** An output declared with options: optional (may be left out) or dynamic (fan-out). */
export interface OutputSpec<S extends Schema = Schema> {
  schema: S;
  /** When true, compute may leave this output out; steps downstream of it are SKIPPED. */
  optional?: boolean;
  /** When true, the output is a list of items; each item maps a copy of the downstream steps. */
  dynamic?: boolean;
  description?: string;
}

export type OutputDecl = Schema | OutputSpec;

/** Retry policy of an op. Attempts are `maxRetries + 1` at most. */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 0. */
  maxRetries: number;
  /** Base delay before a retry. Default 0. */
  delayMs?: number;
  /** How the delay grows with the attempt. Default 'fixed'. */
  backoff?: 'fixed' | 'linear' | 'exponential';
  /** Randomize the delay in [delay/2, delay] to spread retries of many steps. Default false. */
  jitter?: boolean;
  /** Upper bound of the delay. Default 5 minutes. */
  maxDelayMs?: number;
}

type SchemaOf<D> = D extends OutputSpec<infer S> ? S : D extends Schema ? D : never;
type IsOptional<D> = D extends { optional: true } ? true : false;
type IsDynamic<D> = D extends { dynamic: true } ? true : false;

const DYNAMIC_ITEM: unique symbol = Symbol.for('stepwise.dynamicItem');

/** One item of a dynamic output with an explicit mapping key (Dagster's DynamicOutput). */
export interface DynamicItem<T> {
  readonly [DYNAMIC_ITEM]: true;
  readonly mappingKey: string;
  readonly value: T;
}

/** Value compute returns for one declared output. */
export type OutputValue<D> =
  IsDynamic<D> extends true
    ? ReadonlyArray<z.input<SchemaOf<D>> | DynamicItem<z.input<SchemaOf<D>>>>
    : z.input<SchemaOf<D>>;

type RequiredKeys<O> = { [K in keyof O]: IsOptional<O[K]> extends true ? never : K }[keyof O];
type OptionalKeys<O> = { [K in keyof O]: IsOptional<O[K]> extends true ? K : never }[keyof O];

/** What compute returns when the op declares `outs`. */
export type OutsValue<O extends Record<string, OutputDecl>> = {
  [K in RequiredKeys<O>]: OutputValue<O[K]>;
} & { [K in OptionalKeys<O>]?: OutputValue<O[K]> };

/** What compute receives as its second argument. */
export type InputsValue<I extends Record<string, Schema>> = { [K in keyof I]: z.output<I[K]> };

type MaybePromise<T> = T | Promise<T>;

export type ComputeResult<Out, Outs> = [Out] extends [OutputDecl]
  ? OutputValue<Out>
  : [Outs] extends [Record<string, OutputDecl>]
    ? OutsValue<Outs>
    : // biome-ignore lint/suspicious/noConfusingVoidType: an op without outputs may return nothing
      void;

export interface OpOptions<
  C extends Schema | undefined,
  I extends Record<string, Schema>,
  Out extends OutputDecl | undefined,
  Outs extends Record<string, OutputDecl> | undefined,
> {
  /** Unique within a pipeline unless aliased with `op.as(name)`. Letters, digits, `_` and `-`. */
  name: string;
  description?: string;
  /** Code version of the op; part of the pipeline fingerprint (see `pipeline({ version })`). */
  version?: string;
  /** Schema of the op's config (`ops.<name>.config` in the run config). Defaults apply. */
  config?: C;
  /** Named inputs with their schemas; values are validated before compute runs. */
  ins?: I;
  /** A single output named `result`. Mutually exclusive with `outs`. */
  out?: Out;
  /** Several named outputs. */
  outs?: Outs;
  /** Free-form tags. `queue` routes the step to a worker queue; `priority` (integer) orders jobs. */
  tags?: Record<string, string>;
  retry?: RetryPolicy;
  /**
   * How long one attempt may run, in ms. On a `stepwise worker` the step is then aborted (ctx.signal) and, if it
   * does not stop within the worker's cancel grace, killed (its thread or process; with `--isolation none` it is
   * abandoned) and recorded as a STEP_FAILURE naming the timeout. Default: the worker's `--step-timeout` (none).
   */
  timeoutMs?: number;
  /** Resources the op uses. Default: all of the pipeline's resources. */
  requiredResources?: string[];
  compute: (
    ctx: OpContext<C extends Schema ? z.output<C> : undefined>,
    inputs: InputsValue<I>,
  ) => MaybePromise<ComputeResult<Out, Outs>>;
}

/** The normalized, runtime description of an output. */
export interface OutputDefinition {
  name: string;
  schema: Schema;
  optional: boolean;
  dynamic: boolean;
}

/** The normalized, runtime description of an op; shared by every node that invokes it. */
export interface OpDefinition {
  readonly kind: 'op';
  readonly name: string;
  readonly description?: string;
  readonly version?: string;
  readonly configSchema?: Schema;
  readonly ins: Readonly<Record<string, Schema>>;
  readonly outputs: readonly OutputDefinition[];
  /** True when declared with `out`: compute returns the `result` value itself. */
  readonly singleOutput: boolean;
  readonly tags: Readonly<Record<string, string>>;
  readonly retry?: RetryPolicy;
  /** See OpOptions.timeoutMs. */
  readonly timeoutMs?: number;
  readonly requiredResources?: readonly string[];
  readonly compute: (ctx: OpContext<unknown>, inputs: Record<string, unknown>) => unknown;
}

/** Handles a call of the op returns in a composition. */
export type OpCallResult<Out, Outs> = OpInvocationResult<Out, Outs>;

/** Inputs a call of the op takes in a composition. */
export type OpCallInputs<I extends Record<string, Schema>> = { [K in keyof I]?: InputArg<z.output<I[K]>> };

/** An op: callable inside `pipeline({ build })` to wire the graph. */
export interface Op<
  _C extends Schema | undefined = Schema | undefined,
  I extends Record<string, Schema> = Record<string, Schema>,
  Out extends OutputDecl | undefined = OutputDecl | undefined,
  Outs extends Record<string, OutputDecl> | undefined = Record<string, OutputDecl> | undefined,
> {
  (inputs?: OpCallInputs<I>): OpCallResult<Out, Outs>;
  readonly definition: OpDefinition;
  /** The same op under another node name (the step key), so it can appear twice in a pipeline. */
  as(alias: string): (inputs?: OpCallInputs<I>) => OpCallResult<Out, Outs>;
  /** Extra tags for this invocation (e.g. another queue). */
  tagged(tags: Record<string, string>, alias?: string): (inputs?: OpCallInputs<I>) => OpCallResult<Out, Outs>;
}

function isOutputSpec(value: unknown): value is OutputSpec {
  return typeof value === 'object' && value !== null && 'schema' in value && !('_zod' in value);
}

function normalizeOutput(name: string, decl: OutputDecl): OutputDefinition {
  if (isOutputSpec(decl)) {
    if (decl.optional && decl.dynamic) {
      // A dynamic output with zero items already skips nothing and maps nothing; optional adds no meaning.
      throw new DefinitionError(
        `output '${name}' cannot be both optional and dynamic; a dynamic output may emit no items`,
      );
    }
    return { name, schema: decl.schema, optional: decl.optional === true, dynamic: decl.dynamic === true };
  }
  return { name, schema: decl, optional: false, dynamic: false };
}

/** Declares an op. See README.md. */
export function op<
  C extends Schema | undefined = undefined,
  I extends Record<string, Schema> = Record<never, Schema>,
  Out extends OutputDecl | undefined = undefined,
  Outs extends Record<string, OutputDecl> | undefined = undefined,
>(options: OpOptions<C, I, Out, Outs>): Op<C, I, Out, Outs> {
  const { name } = options;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new DefinitionError(
      `op name ${JSON.stringify(name)} is invalid: use letters, digits, '_' and '-', starting with a letter or '_'`,
    );
  }
  if (typeof options.compute !== 'function') {
    throw new DefinitionError(`op '${name}' has no compute function`);
  }
  if (options.out !== undefined && options.outs !== undefined) {
    throw new DefinitionError(
      `op '${name}' declares both 'out' and 'outs'; use 'out' for one output or 'outs' for several`,
    );
  }
  const outputs: OutputDefinition[] = [];
  if (options.out !== undefined) outputs.push(normalizeOutput('result', options.out));
  for (const [outName, decl] of Object.entries(options.outs ?? {})) {
    if (!NAME_PATTERN.test(outName)) throw new DefinitionError(`op '${name}': output name '${outName}' is invalid`);
    outputs.push(normalizeOutput(outName, decl as OutputDecl));
  }
  for (const inName of Object.keys(options.ins ?? {})) {
    if (!NAME_PATTERN.test(inName)) throw new DefinitionError(`op '${name}': input name '${inName}' is invalid`);
  }
  if (options.retry !== undefined) validateRetry(name, options.retry);
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new DefinitionError(`op '${name}': timeoutMs must be a positive number of ms, got ${options.timeoutMs}`);
  }
  const definition: OpDefinition = Object.freeze({
    kind: 'op' as const,
    name,
    description: options.description,
    version: options.version,
    configSchema: options.config,
    ins: Object.freeze({ ...(options.ins ?? {}) }),
    outputs: Object.freeze(outputs),
    singleOutput: options.out !== undefined,
    tags: Object.freeze({ ...(options.tags ?? {}) }),
    retry: options.retry,
    timeoutMs: options.timeoutMs,
    requiredResources: options.requiredResources,
    compute: options.compute as unknown as OpDefinition['compute'],
  });
  const invoke = (alias: string, tags: Record<string, string> | undefined, inputs: unknown) =>
    currentComposition(alias).invoke(definition, alias, tags, inputs) as OpCallResult<Out, Outs>;
  const callable = ((inputs?: OpCallInputs<I>) => invoke(name, undefined, inputs)) as Op<C, I, Out, Outs>;
  Object.defineProperty(callable, 'name', { value: name });
  Object.defineProperty(callable, 'definition', { value: definition, enumerable: true });
  Object.defineProperty(callable, 'as', {
    value: (alias: string) => (inputs?: OpCallInputs<I>) => invoke(alias, undefined, inputs),
  });
  Object.defineProperty(callable, 'tagged', {
    value: (tags: Record<string, string>, alias?: string) => (inputs?: OpCallInputs<I>) =>
      invoke(alias ?? name, tags, inputs),
  });
  return callable;
}

function validateRetry(name: string, retry: RetryPolicy): void {
  const bad = (what: string) => new DefinitionError(`op '${name}': retry.${what}`);
  if (!Number.isInteger(retry.maxRetries) || retry.maxRetries < 0) throw bad('maxRetries must be an integer >= 0');
  if (retry.delayMs !== undefined && !(retry.delayMs >= 0)) throw bad('delayMs must be >= 0');
  if (retry.maxDelayMs !== undefined && !(retry.maxDelayMs >= 0)) throw bad('maxDelayMs must be >= 0');
  if (retry.backoff !== undefined && !['fixed', 'linear', 'exponential'].includes(retry.backoff)) {
    throw bad("backoff must be 'fixed', 'linear' or 'exponential'");
  }
}

/** Delay before attempt `attempt + 1`, after attempt `attempt` failed. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = policy.delayMs ?? 0;
  const factor = policy.backoff === 'exponential' ? 2 ** (attempt - 1) : policy.backoff === 'linear' ? attempt : 1;
  let delay = Math.min(base * factor, policy.maxDelayMs ?? 300_000);
  if (policy.jitter) delay = delay / 2 + random() * (delay / 2);
  return Math.round(delay);
}

/** Marks one item of a dynamic output with an explicit mapping key. */
export function dynamicItem<T>(mappingKey: string, value: T): DynamicItem<T> {
  return { [DYNAMIC_ITEM]: true, mappingKey, value };
}

export function isDynamicItem(value: unknown): value is DynamicItem<unknown> {
  return typeof value === 'object' && value !== null && DYNAMIC_ITEM in value;
}
