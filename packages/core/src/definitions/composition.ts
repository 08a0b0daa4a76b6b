import { DefinitionError, GraphError } from '../errors/index.js';
import { NAME_PATTERN } from './names.js';
import type { OpDefinition, OutputDecl } from './op.js';

const HANDLE: unique symbol = Symbol.for('stepwise.handle');

/** The dynamic output whose items a mapped node runs once per item. */
export interface DynamicScope {
  readonly node: string;
  readonly output: string;
}

/** A reference to one output of a node, returned by calling an op in a composition. */
export interface OutputHandle<T = unknown> {
  readonly [HANDLE]: 'output';
  readonly node: string;
  readonly output: string;
  /** Set when the handle lives inside `.map()`: its value differs per mapping key. */
  readonly scope?: DynamicScope;
  /** True for the item handle `.map()` hands to its function. */
  readonly item?: boolean;
  /** Phantom: the value type, for type-checking compositions. Never set. */
  readonly __value?: T;
}

/** A dynamic output: consume it per item with `.map()` or as a list with `.collect()`. */
export interface DynamicHandle<T = unknown> {
  readonly [HANDLE]: 'dynamic';
  readonly node: string;
  readonly output: string;
  readonly scope?: DynamicScope;
  readonly __value?: T;
  /** Runs `fn`'s ops once per item; the step keys of the copies are `key[mappingKey]`. */
  map<R>(fn: (item: OutputHandle<T>) => R): Mapped<R>;
  /** The list of every item's value (for a mapped handle: every copy's output), in mapping-key order. */
  collect(): CollectHandle<T[]>;
}

/** The fan-in of every mapped copy of an output. */
export interface CollectHandle<T = unknown> {
  readonly [HANDLE]: 'collect';
  readonly node: string;
  readonly output: string;
  readonly __value?: T;
}

export type Mapped<R> =
  R extends OutputHandle<infer T>
    ? DynamicHandle<T>
    : R extends Record<string, unknown>
      ? { [K in keyof R]: R[K] extends OutputHandle<infer T> ? DynamicHandle<T> : never }
      : undefined;

/** What an input accepts in a composition: a handle, a list of handles (fan-in), or a collect. */
export type InputArg<T> =
  | OutputHandle<T>
  | (T extends ReadonlyArray<infer E> ? ReadonlyArray<OutputHandle<E>> | CollectHandle<T> : never);

type HandleFor<D> = D extends { dynamic: true; schema: infer S }
  ? DynamicHandle<S extends { _output: infer V } ? V : unknown>
  : OutputHandle<D extends { schema: { _output: infer V } } ? V : D extends { _output: infer V } ? V : unknown>;

/** What calling an op returns: the `result` handle, an object of handles, or nothing. */
export type OpInvocationResult<Out, Outs> = [Out] extends [OutputDecl]
  ? HandleFor<Out>
  : [Outs] extends [Record<string, OutputDecl>]
    ? { [K in keyof Outs]: HandleFor<Outs[K]> }
    : undefined;

/** How an input of a node is fed. Plain data: part of the pipeline's structure and fingerprint. */
export type InputBinding =
  | { kind: 'output'; node: string; output: string }
  | { kind: 'fanIn'; sources: Array<{ node: string; output: string }> }
  | { kind: 'mapped'; node: string; output: string }
  | { kind: 'collect'; node: string; output: string };

/** One invocation of an op in a pipeline. `name` is the step key (alias or op name). */
export interface NodeSpec {
  readonly name: string;
  readonly op: OpDefinition;
  readonly tags: Readonly<Record<string, string>>;
  readonly inputs: Readonly<Record<string, InputBinding>>;
  /** Set for nodes inside `.map()`: instantiated once per item of the scope's dynamic output. */
  readonly scope?: DynamicScope;
}

export function isHandle(value: unknown): value is OutputHandle | DynamicHandle | CollectHandle {
  return typeof value === 'object' && value !== null && HANDLE in value;
}

const sameScope = (a?: DynamicScope, b?: DynamicScope) => a?.node === b?.node && a?.output === b?.output;

/** Records the nodes created while a pipeline's `build()` runs. */
export class Composition {
  readonly nodes = new Map<string, NodeSpec>();
  private scope: DynamicScope | undefined;

  constructor(readonly pipelineName: string) {}

  invoke(op: OpDefinition, alias: string, tags: Record<string, string> | undefined, rawInputs: unknown): unknown {
    const where = `pipeline '${this.pipelineName}'`;
    if (!NAME_PATTERN.test(alias)) {
      throw new DefinitionError(
        `${where}: step name ${JSON.stringify(alias)} is invalid: use letters, digits, '_' and '-'`,
      );
    }
    if (this.nodes.has(alias)) {
      throw new GraphError(
        `${where}: duplicate step name '${alias}': an op may appear once per name; invoke it again under another name with ${op.name}.as('${alias}_2')`,
      );
    }
    if (rawInputs !== undefined && (typeof rawInputs !== 'object' || rawInputs === null || isHandle(rawInputs))) {
      throw new GraphError(
        `${where}: step '${alias}' must be called with an object of inputs, e.g. ${alias}({ x: handle })`,
      );
    }
    const inputs: Record<string, InputBinding> = {};
    for (const [inputName, arg] of Object.entries(rawInputs ?? {})) {
      if (arg === undefined) continue;
      if (!(inputName in op.ins)) {
        const known = Object.keys(op.ins);
        throw new GraphError(
          `${where}: step '${alias}' has no input '${inputName}' (op '${op.name}' declares ${known.length ? known.map((k) => `'${k}'`).join(', ') : 'no inputs'})`,
        );
      }
      inputs[inputName] = this.bind(alias, inputName, arg);
    }
    const node: NodeSpec = { name: alias, op, tags: nodeTags(op.tags, tags), inputs, scope: this.scope };
    this.nodes.set(alias, node);
    return this.handlesFor(node);
  }

  private bind(node: string, input: string, arg: unknown): InputBinding {
    const at = `pipeline '${this.pipelineName}': input '${node}.${input}'`;
    if (Array.isArray(arg)) {
      const sources = arg.map((h, i) => {
        if (!isHandle(h) || h[HANDLE] !== 'output') {
          throw new GraphError(`${at}: fan-in item ${i} is not an op output handle`);
        }
        this.checkScope(at, h);
        return { node: h.node, output: h.output };
      });
      return { kind: 'fanIn', sources };
    }
    if (!isHandle(arg)) {
      throw new GraphError(
        `${at} was given a plain value; inputs take op outputs, or a value from run config at ops.${node}.inputs.${input}`,
      );
    }
    switch (arg[HANDLE]) {
      case 'dynamic':
        throw new GraphError(
          `${at} is fed the dynamic output '${arg.node}.${arg.output}' directly; consume it with .map(fn) or .collect()`,
        );
      case 'collect':
        if (this.scope) throw new GraphError(`${at}: .collect() cannot be used inside the .map() it collects from`);
        return { kind: 'collect', node: arg.node, output: arg.output };
      default:
        this.checkScope(at, arg);
        if (arg.item) return { kind: 'mapped', node: arg.node, output: arg.output };
        return { kind: 'output', node: arg.node, output: arg.output };
    }
  }

  private checkScope(at: string, h: OutputHandle): void {
    if (h.scope && !sameScope(h.scope, this.scope)) {
      throw new GraphError(
        `${at} uses '${h.node}.${h.output}', which runs once per item of '${h.scope.node}.${h.scope.output}', outside its .map(); use .collect() to gather it`,
      );
    }
  }

  private handlesFor(node: NodeSpec): unknown {
    const make = (output: string, dynamic: boolean) =>
      dynamic ? this.dynamicHandle(node.name, output, undefined) : outputHandle(node.name, output, node.scope);
    if (node.op.singleOutput) {
      const out = node.op.outputs[0];
      return out ? make(out.name, out.dynamic) : undefined;
    }
    if (node.op.outputs.length === 0) return undefined;
    return Object.fromEntries(node.op.outputs.map((o) => [o.name, make(o.name, o.dynamic)]));
  }

  /**
   * A dynamic handle. With no `scope` it is a node's dynamic output: mapping it opens a scope.
   * With a scope it is the output of a mapped node: mapping it stays in that scope.
   */
  private dynamicHandle(node: string, output: string, scope: DynamicScope | undefined): DynamicHandle {
    const source: DynamicScope = scope ?? { node, output };
    return {
      [HANDLE]: 'dynamic',
      node,
      output,
      scope,
      map: (fn) => {
        if (this.scope && !sameScope(this.scope, source)) {
          throw new GraphError(
            `pipeline '${this.pipelineName}': nested dynamic fan-out ('${node}.${output}' mapped inside another .map()) is not supported; collect first`,
          );
        }
        const outer = this.scope;
        this.scope = source;
        try {
          const item = scope
            ? outputHandle(node, output, scope)
            : { ...outputHandle(node, output, source), item: true };
          const result = fn(item as OutputHandle<never>);
          return this.lift(result) as never;
        } finally {
          this.scope = outer;
        }
      },
      collect: () => {
        if (!scope && this.scope) {
          throw new GraphError(`pipeline '${this.pipelineName}': .collect() of '${node}.${output}' inside a .map()`);
        }
        return { [HANDLE]: 'collect', node, output };
      },
    };
  }

  /** Turns what a `.map()` function returned into dynamic handles of the mapped nodes. */
  private lift(result: unknown): unknown {
    if (result === undefined || result === null) return undefined;
    if (isHandle(result)) {
      if (result[HANDLE] !== 'output' || !result.scope) {
        throw new GraphError(`pipeline '${this.pipelineName}': a .map() function must return outputs of ops it called`);
      }
      return this.dynamicHandle(result.node, result.output, result.scope);
    }
    if (typeof result === 'object') {
      return Object.fromEntries(Object.entries(result).map(([k, v]) => [k, this.lift(v)]));
    }
    throw new GraphError(`pipeline '${this.pipelineName}': a .map() function must return op outputs or nothing`);
  }
}

function outputHandle(node: string, output: string, scope: DynamicScope | undefined): OutputHandle {
  return scope ? { [HANDLE]: 'output', node, output, scope } : { [HANDLE]: 'output', node, output };
}

let active: Composition | undefined;

/** Runs `build` with `composition` active, so op calls inside it record nodes. */
export function compose(composition: Composition, build: () => void): void {
  if (active)
    throw new DefinitionError(`pipeline '${composition.pipelineName}' was built inside another pipeline's build()`);
  active = composition;
  try {
    build();
  } finally {
    active = undefined;
  }
}

export function currentComposition(opName: string): Composition {
  if (!active) {
    throw new DefinitionError(
      `op '${opName}' was called outside a pipeline's build(); ops are wired inside pipeline({ build: () => { ... } })`,
    );
  }
  return active;
}

const NO_TAGS: Readonly<Record<string, string>> = Object.freeze({});

/** A node's tags: its op's, then its own; one shared frozen object when both are empty (big generated graphs). */
export function nodeTags(
  opTags: Readonly<Record<string, string>>,
  own?: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  for (const _ in opTags) return { ...opTags, ...own };
  for (const _ in own) return { ...own };
  return NO_TAGS;
}
