import { didYouMean } from '../config/format-issues.js';
import type { InputBinding, NodeSpec } from '../definitions/composition.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { SelectionError } from '../errors/index.js';

/** Anything with steps and their upstream keys, e.g. an ExecutionPlan. */
export interface StepGraphLike {
  steps: ReadonlyArray<{ key: string; upstream: readonly string[] }>;
}

/** Step keys in topological order, with parents and children by key. */
export interface StepGraph {
  readonly keys: readonly string[];
  readonly parents: ReadonlyMap<string, readonly string[]>;
  readonly children: ReadonlyMap<string, readonly string[]>;
}

/**
 * The steps a node waits for: the sources of its inputs, its map's dynamic source (a template cannot be
 * copied before the items are known) and, for a collect of a template, that template's own source.
 */
export function upstreamOf(node: NodeSpec, nodes: ReadonlyMap<string, NodeSpec>): string[] {
  // Hot path of 100k-step plans: plain loops, no closures; a Set only once a fan-in makes the list long.
  const ups: string[] = [];
  let seen: Set<string> | undefined;
  const add = (key: string): void => {
    if (seen) {
      if (!seen.has(key)) {
        seen.add(key);
        ups.push(key);
      }
    } else if (!ups.includes(key)) {
      ups.push(key);
      if (ups.length > 16) seen = new Set(ups);
    }
  };
  for (const input in node.inputs) {
    const binding = node.inputs[input] as InputBinding;
    if (binding.kind === 'fanIn') {
      for (const s of binding.sources) add(s.node);
    } else {
      add(binding.node);
      if (binding.kind === 'collect') {
        const scope = nodes.get(binding.node)?.scope;
        if (scope) add(scope.node);
      }
    }
  }
  if (node.scope) add(node.scope.node);
  return ups;
}

// Only pipelines are cached: they are frozen, while a plan-like object may change between calls.
const graphs = new WeakMap<PipelineDefinition, StepGraph>();

function isPipeline(source: PipelineDefinition | StepGraphLike): source is PipelineDefinition {
  return 'kind' in source && source.kind === 'pipeline';
}

function graphOf(source: PipelineDefinition | StepGraphLike): StepGraph {
  const cached = isPipeline(source) ? graphs.get(source) : undefined;
  if (cached) return cached;
  const parents = new Map<string, readonly string[]>();
  const keys: string[] = [];
  if (isPipeline(source)) {
    for (const name of source.order) {
      keys.push(name);
      parents.set(name, upstreamOf(source.nodes.get(name) as NodeSpec, source.nodes));
    }
  } else {
    for (const step of (source as StepGraphLike).steps) {
      keys.push(step.key);
      parents.set(step.key, step.upstream);
    }
  }
  const children = new Map<string, string[]>();
  for (const key of keys) children.set(key, []);
  for (const [key, ups] of parents) for (const u of ups) children.get(u)?.push(key);
  const graph: StepGraph = { keys, parents, children };
  if (isPipeline(source)) graphs.set(source, graph);
  return graph;
}

/** Step graph of a pipeline (cached per pipeline). */
export function stepGraphOf(source: PipelineDefinition | StepGraphLike): StepGraph {
  return graphOf(source);
}

// `*name+`, `++name`, `name*`: an optional ancestor operator, a step key, an optional descendant operator.
const CLAUSE = /^(\*|\++)?\s*([A-Za-z0-9_][A-Za-z0-9_-]*)\s*(\*|\++)?$/;

/** Depth from an operator: `*` is unlimited, `+` per level, none is 0. */
const depthOf = (op: string | undefined) => (op === undefined ? 0 : op === '*' ? Number.POSITIVE_INFINITY : op.length);

function walk(start: string, depth: number, edges: ReadonlyMap<string, readonly string[]>, into: Set<string>): void {
  if (depth === 0) return;
  let frontier = [start];
  const seen = new Set<string>([start]);
  for (let level = 0; level < depth && frontier.length > 0; level++) {
    const next: string[] = [];
    for (const key of frontier) {
      for (const neighbor of edges.get(key) ?? []) {
        if (seen.has(neighbor)) continue;
        seen.add(neighbor);
        into.add(neighbor);
        next.push(neighbor);
      }
    }
    frontier = next;
  }
}

/**
 * Selects steps with Dagster's syntax: `name` (just it), `*name` (it and every ancestor), `name*` (it and
 * every descendant), `+name` / `++name` (parents up to 1 / 2 levels), `name+` / `name++` (children), any
 * combination such as `*name+`, comma-separated clauses and arrays of expressions (their union).
 * `*` alone selects every step. Templates of a `.map()` are selected by their plain key.
 * Throws SelectionError on an unknown name (with close matches) or a malformed expression.
 */
export function selectSteps(source: PipelineDefinition | StepGraphLike, expr: string | readonly string[]): Set<string> {
  const graph = graphOf(source);
  const exprs = typeof expr === 'string' ? [expr] : expr;
  if (!Array.isArray(exprs) || exprs.length === 0) {
    throw new SelectionError('step selection is empty: give at least one step, e.g. "extract" or "*total"');
  }
  const selected = new Set<string>();
  for (const e of exprs) {
    if (typeof e !== 'string') throw new SelectionError(`step selection must be a string, got ${typeof e}`);
    const clauses = e.split(',');
    for (const rawClause of clauses) {
      const clause = rawClause.trim();
      if (clause === '') {
        throw new SelectionError(
          `step selection ${JSON.stringify(e)} has an empty clause; separate step names with single commas`,
        );
      }
      if (clause === '*') {
        for (const key of graph.keys) selected.add(key);
        continue;
      }
      const m = CLAUSE.exec(clause);
      if (!m) {
        throw new SelectionError(
          `step selection clause ${JSON.stringify(clause)} is malformed: use 'name', '*name', 'name*', '+name', 'name+' or combinations such as '*name+'`,
        );
      }
      const [, before, name, after] = m as unknown as [string, string | undefined, string, string | undefined];
      if (!graph.parents.has(name)) {
        throw new SelectionError(`step selection names unknown step '${name}'${didYouMean(name, graph.keys)}`);
      }
      selected.add(name);
      walk(name, depthOf(before), graph.parents, selected);
      walk(name, depthOf(after), graph.children, selected);
    }
  }
  return selected;
}
