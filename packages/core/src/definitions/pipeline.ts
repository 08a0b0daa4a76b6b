import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DefinitionError, GraphError } from '../errors/index.js';
import { Composition, compose, type InputBinding, type NodeSpec, nodeTags } from './composition.js';
import { NAME_PATTERN } from './names.js';
import type { OpDefinition } from './op.js';
import type { ResourceDefinition } from './resource.js';

/** A source in the declarative `deps` form: `'node'` (its `result`), `'node.output'`, or a list (fan-in). */
export type DepSource = string | string[];

export interface PipelineOptions {
  name: string;
  description?: string;
  /**
   * Code version; part of the fingerprint, so workers running another version refuse this pipeline's steps.
   * Bump it (or set it from your build, e.g. a git sha) when compute code changes without the graph changing.
   */
  version?: string;
  /** Tags copied onto every run of the pipeline. */
  tags?: Record<string, string>;
  /** Resources by name, built once per process and given to ops as `ctx.resources[name]`. */
  resources?: Record<string, ResourceDefinition>;
  /** Composition: call ops inside to wire the graph. */
  build?: () => void;
  /** Declarative alternative to `build`: nodes by step name ... */
  nodes?: Record<string, { readonly definition: OpDefinition } | OpDefinition>;
  /** ... and, per node, where each input comes from. */
  deps?: Record<string, Record<string, DepSource>>;
}

/** A validated pipeline: plain nodes in topological order, plus a fingerprint of its structure and code. */
export interface PipelineDefinition {
  readonly kind: 'pipeline';
  readonly name: string;
  readonly description?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly resources: Readonly<Record<string, ResourceDefinition>>;
  readonly nodes: ReadonlyMap<string, NodeSpec>;
  /** Node names, upstream before downstream. */
  readonly order: readonly string[];
  /** Changes when the graph or any op's code changes; workers refuse steps of a plan with another fingerprint. */
  readonly fingerprint: string;
  /**
   * Path of the module that declared the pipeline (from the call stack), so that child processes can load
   * the same code. Undefined when it cannot be told (e.g. declared in a REPL).
   */
  readonly sourceFile?: string;
}

/** Declares a pipeline. Graph errors (cycles, unknown inputs, duplicates) are thrown here. */
export function pipeline(options: PipelineOptions): PipelineDefinition {
  const { name } = options;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new DefinitionError(`pipeline name ${JSON.stringify(name)} is invalid: use letters, digits, '_' and '-'`);
  }
  const hasBuild = typeof options.build === 'function';
  if (hasBuild === (options.nodes !== undefined)) {
    throw new DefinitionError(`pipeline '${name}' needs exactly one of build() or nodes/deps`);
  }
  const resources = { ...(options.resources ?? {}) };
  for (const [rname, r] of Object.entries(resources)) {
    if (r?.kind !== 'resource') throw new DefinitionError(`pipeline '${name}': resources.${rname} is not a resource()`);
  }
  let nodes: Map<string, NodeSpec>;
  if (options.build) {
    const composition = new Composition(name);
    compose(composition, options.build);
    nodes = composition.nodes;
  } else {
    nodes = nodesFromDeps(name, options.nodes ?? {}, options.deps ?? {});
  }
  if (nodes.size === 0) throw new GraphError(`pipeline '${name}' has no steps: call at least one op in build()`);
  validateBindings(name, nodes, resources);
  const order = topologicalOrder(name, nodes);
  const ordered = new Map(order.map((n) => [n, nodes.get(n) as NodeSpec]));
  return Object.freeze({
    kind: 'pipeline' as const,
    name,
    description: options.description,
    tags: Object.freeze({ ...(options.tags ?? {}) }),
    resources: Object.freeze(resources),
    nodes: ordered,
    order: Object.freeze(order),
    fingerprint: fingerprintOf(name, ordered, resources, options.version),
    sourceFile: callerFile(),
  });
}

const NO_INPUTS: Record<string, InputBinding> = Object.freeze({}) as Record<string, InputBinding>;

function nodesFromDeps(
  pipelineName: string,
  declared: Record<string, { readonly definition: OpDefinition } | OpDefinition>,
  deps: Record<string, Record<string, DepSource>>,
): Map<string, NodeSpec> {
  const where = `pipeline '${pipelineName}'`;
  const nodes = new Map<string, NodeSpec>();
  for (const nodeName of Object.keys(deps)) {
    if (!(nodeName in declared)) throw new GraphError(`${where}: deps name unknown step '${nodeName}'`);
  }
  for (const [nodeName, opOrDef] of Object.entries(declared)) {
    if (!NAME_PATTERN.test(nodeName)) throw new GraphError(`${where}: step name '${nodeName}' is invalid`);
    const def = 'definition' in opOrDef ? opOrDef.definition : opOrDef;
    if (def?.kind !== 'op') throw new DefinitionError(`${where}: nodes.${nodeName} is not an op`);
    const inputs: Record<string, InputBinding> = {};
    for (const [input, source] of Object.entries(deps[nodeName] ?? {})) {
      if (!(input in def.ins)) {
        throw new GraphError(
          `${where}: step '${nodeName}' has no input '${input}' (op '${def.name}' declares ${Object.keys(def.ins).join(', ') || 'none'})`,
        );
      }
      const parse = (s: string) => {
        const dot = s.indexOf('.');
        return dot < 0 ? { node: s, output: 'result' } : { node: s.slice(0, dot), output: s.slice(dot + 1) };
      };
      inputs[input] = Array.isArray(source)
        ? { kind: 'fanIn', sources: source.map(parse) }
        : { kind: 'output', ...parse(source) };
    }
    // A source step (no inputs) shares one frozen empty object: generated graphs have 100,000 of them.
    const bound = Object.keys(inputs).length > 0 ? inputs : NO_INPUTS;
    nodes.set(nodeName, { name: nodeName, op: def, tags: nodeTags(def.tags), inputs: bound });
  }
  return nodes;
}

function sourcesOf(binding: InputBinding): Array<{ node: string; output: string }> {
  return binding.kind === 'fanIn' ? binding.sources : [binding];
}

function validateBindings(
  pipelineName: string,
  nodes: Map<string, NodeSpec>,
  resources: Record<string, ResourceDefinition>,
): void {
  const where = `pipeline '${pipelineName}'`;
  for (const node of nodes.values()) {
    for (const [input, binding] of Object.entries(node.inputs)) {
      for (const src of sourcesOf(binding)) {
        const upstream = nodes.get(src.node);
        if (!upstream) {
          throw new GraphError(`${where}: input '${node.name}.${input}' is fed by unknown step '${src.node}'`);
        }
        const out = upstream.op.outputs.find((o) => o.name === src.output);
        if (!out) {
          const known = upstream.op.outputs.map((o) => `'${o.name}'`).join(', ') || 'none';
          throw new GraphError(
            `${where}: input '${node.name}.${input}' is fed by unknown output '${src.node}.${src.output}' (outputs: ${known})`,
          );
        }
        if (out.dynamic && binding.kind !== 'mapped' && binding.kind !== 'collect') {
          throw new GraphError(
            `${where}: input '${node.name}.${input}' takes dynamic output '${src.node}.${src.output}' directly; use .map() or .collect()`,
          );
        }
      }
    }
    for (const r of node.op.requiredResources ?? []) {
      if (!(r in resources)) {
        throw new GraphError(
          `${where}: step '${node.name}' requires resource '${r}', which the pipeline does not provide`,
        );
      }
    }
  }
}

/** Kahn's algorithm; on a cycle, names the steps in it. */
function topologicalOrder(pipelineName: string, nodes: Map<string, NodeSpec>): string[] {
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const node of nodes.values()) {
    const ups = new Set<string>();
    for (const b of Object.values(node.inputs)) for (const s of sourcesOf(b)) ups.add(s.node);
    indegree.set(node.name, ups.size);
    for (const u of ups) {
      const list = dependents.get(u);
      if (list) list.push(node.name);
      else dependents.set(u, [node.name]);
    }
  }
  const order: string[] = [];
  for (const [n, d] of indegree) if (d === 0) order.push(n);
  for (let i = 0; i < order.length; i++) {
    for (const d of dependents.get(order[i] as string) ?? []) {
      const left = (indegree.get(d) as number) - 1;
      indegree.set(d, left);
      if (left === 0) order.push(d);
    }
  }
  if (order.length < nodes.size) {
    const stuck = [...indegree].filter(([, d]) => d > 0).map(([n]) => n);
    throw new GraphError(
      `pipeline '${pipelineName}' has a cycle through steps ${stuck.map((s) => `'${s}'`).join(', ')}`,
    );
  }
  return order;
}

/**
 * A hash of the graph's shape: steps, ops, wiring, tags, outputs, retry policies, resources, and the code
 * versions users declare. Function bodies are left out on purpose: the coordinator and the workers may load the
 * same source through different transpilers (tsc, esbuild, vite), which print functions differently.
 */
function fingerprintOf(
  name: string,
  nodes: Map<string, NodeSpec>,
  resources: Record<string, ResourceDefinition>,
  version: string | undefined,
): string {
  const hash = createHash('sha256');
  hash.update(name);
  for (const node of nodes.values()) {
    const { op } = node;
    hash.update(
      JSON.stringify([
        node.name,
        op.name,
        node.tags,
        node.inputs,
        node.scope ?? null,
        Object.keys(op.ins),
        op.outputs.map((o) => [o.name, o.optional, o.dynamic]),
        op.retry ?? null,
        op.configSchema ? 1 : 0,
      ]),
    );
    if (op.version !== undefined) hash.update(`v:${op.version}`);
  }
  hash.update(JSON.stringify(Object.keys(resources)));
  if (version !== undefined) hash.update(`v:${version}`);
  return hash.digest('hex').slice(0, 16);
}

// This package's code (src/ or dist/); frames inside it are not the caller. Tests and examples of the
// package live beside it, not in it, and count as callers.
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE_CODE = [`${PACKAGE_ROOT}src/`, `${PACKAGE_ROOT}dist/`];

/** The first file on the call stack outside this module: the module that called pipeline(). */
function callerFile(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    if (line.includes('node:')) continue;
    const match = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):\d+:\d+\)?\s*$/.exec(line);
    const file = match?.[1];
    if (!file) continue;
    const path = file.startsWith('file://') ? fileURLToPath(file) : file;
    if (PACKAGE_CODE.some((dir) => path.startsWith(dir)) || path.includes('/node_modules/')) continue;
    return path;
  }
  return undefined;
}
