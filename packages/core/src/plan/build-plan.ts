import { isValidatedRunConfig, type RunConfig, validateRunConfig } from '../config/run-config.js';
import type { InputBinding, NodeSpec } from '../definitions/composition.js';
import type { OpDefinition, RetryPolicy } from '../definitions/op.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { SelectionError } from '../errors/index.js';
import type { ExecutionPlan, PlanInput, PlanOutput, PlanStep } from './plan.js';
import { selectSteps, upstreamOf } from './select.js';

export interface BuildPlanOptions {
  /**
   * Dagster-style selection (`extract`, `*total`, `extract+`, comma lists, arrays). Only the selected steps are
   * planned; inputs fed by other steps are read from the runs named in `reuse`. Default: every step.
   */
  stepSelection?: string | readonly string[];
  /** Step key -> id of the run whose stored outputs feed the selected steps. Default `{}`. */
  reuse?: Readonly<Record<string, string>>;
}

// Shared by every step that has none, frozen so that no one changes them for all: a 100,000-step plan would
// otherwise hold 300,000 empty objects.
const NO_TAGS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const NO_INPUTS: Record<string, PlanInput> = Object.freeze({}) as Record<string, PlanInput>;
const NO_UPSTREAM: string[] = Object.freeze([]) as unknown as string[];

interface OpCache {
  outputs: readonly PlanOutput[];
  inputNames: readonly string[];
  retry: RetryPolicy | undefined;
}

// Per op, shared by every node that invokes it (aliases, big generated pipelines).
const opCaches = new WeakMap<OpDefinition, OpCache>();
function opCache(op: OpDefinition): OpCache {
  let c = opCaches.get(op);
  if (!c) {
    let retry: RetryPolicy | undefined;
    if (op.retry) {
      // Keep only set fields so the plan JSON round-trips to an equal object.
      retry = Object.fromEntries(Object.entries(op.retry).filter(([, v]) => v !== undefined)) as unknown as RetryPolicy;
    }
    c = {
      // One frozen list per op, shared by its steps' plans.
      outputs: Object.freeze(
        op.outputs.map((o) => Object.freeze({ name: o.name, optional: o.optional, dynamic: o.dynamic })),
      ),
      inputNames: Object.keys(op.ins),
      retry,
    };
    opCaches.set(op, c);
  }
  return c;
}

function planInput(binding: InputBinding): PlanInput {
  switch (binding.kind) {
    case 'output':
      return { from: 'step', step: binding.node, output: binding.output };
    case 'fanIn':
      return { from: 'fanIn', sources: binding.sources.map((s) => ({ step: s.node, output: s.output })) };
    case 'mapped':
      return { from: 'mapped', step: binding.node, output: binding.output };
    case 'collect':
      return { from: 'collect', step: binding.node, output: binding.output };
  }
}

function isEmpty(record: object): boolean {
  for (const _ in record) return false;
  return true;
}

/** Why `node` cannot run without steps left out of the selection, or nothing. */
function selectionProblems(
  pipeline: PipelineDefinition,
  node: NodeSpec,
  selected: ReadonlySet<string>,
  reuse: Readonly<Record<string, string>>,
): string[] {
  const problems: string[] = [];
  const together = (what: string, need: string[]) =>
    problems.push(
      `step '${node.name}' ${what}; mapped steps, their dynamic source and their collect are selected together: select ${need.map((n) => `'${n}'`).join(' and ')} too`,
    );
  if (node.scope && !selected.has(node.scope.node)) {
    together(`runs once per item of '${node.scope.node}.${node.scope.output}'`, [node.scope.node]);
  }
  for (const binding of Object.values(node.inputs)) {
    if (binding.kind === 'collect') {
      const scope = pipeline.nodes.get(binding.node)?.scope;
      const need = [binding.node, ...(scope ? [scope.node] : [])].filter((n) => !selected.has(n));
      if (need.length) together(`collects '${binding.node}.${binding.output}'`, need);
      continue;
    }
    if (binding.kind === 'mapped') continue; // the scope check above covers it
    const sources = binding.kind === 'fanIn' ? binding.sources : [binding];
    for (const src of sources) {
      if (selected.has(src.node)) continue;
      const upstream = pipeline.nodes.get(src.node);
      if (upstream?.scope) {
        together(`uses '${src.node}.${src.output}' of each mapped copy`, [src.node]);
      } else if (!Object.hasOwn(reuse, src.node)) {
        problems.push(
          `step '${node.name}' needs output '${src.node}.${src.output}', which is not selected and has no stored output; select '${src.node}' too or re-execute from a run that produced it`,
        );
      }
    }
  }
  return problems;
}

/**
 * Compiles a pipeline and its run config into a plain, serializable ExecutionPlan (README.md). The run config is
 * validated first (every problem listed in one ConfigError); with a selection, only the selected steps must be
 * fully configured. Throws SelectionError when a selected step needs an output nobody provides.
 *
 * Plan conventions: `config` is the op's validated config with defaults, or `null` when the op has none;
 * a config-fed input is `{ from: 'config', value }` with the value as given; an optional input that nothing
 * feeds is left out of `inputs`.
 */
export function buildPlan(
  pipeline: PipelineDefinition,
  runConfig?: unknown,
  options: BuildPlanOptions = {},
): ExecutionPlan {
  const reuse: Record<string, string> = { ...(options.reuse ?? {}) };
  let selected: Set<string> | undefined;
  if (options.stepSelection !== undefined) selected = selectSteps(pipeline, options.stepSelection);

  const config: RunConfig = isValidatedRunConfig(pipeline, runConfig)
    ? runConfig
    : validateRunConfig(pipeline, runConfig, selected ? { steps: selected } : {});

  const problems: string[] = [];
  const steps: PlanStep[] = [];
  for (const key of pipeline.order) {
    if (selected && !selected.has(key)) continue;
    const node = pipeline.nodes.get(key) as NodeSpec;
    const cache = opCache(node.op);
    const opConfig = config.ops[key];

    const inputs: Record<string, PlanInput> = {};
    for (const name of cache.inputNames) {
      const binding = node.inputs[name];
      if (binding !== undefined) inputs[name] = planInput(binding);
      else if (opConfig?.inputs && Object.hasOwn(opConfig.inputs, name)) {
        inputs[name] = { from: 'config', value: opConfig.inputs[name] };
      }
    }

    let upstream = upstreamOf(node, pipeline.nodes);
    if (selected) {
      const sel = selected;
      problems.push(...selectionProblems(pipeline, node, sel, reuse));
      upstream = upstream.filter((u) => sel.has(u));
    }

    const step: PlanStep = {
      key,
      op: node.op.name,
      inputs: isEmpty(inputs) ? NO_INPUTS : inputs,
      outputs: cache.outputs as PlanOutput[],
      tags: isEmpty(node.tags) ? NO_TAGS : { ...node.tags },
      config: node.op.configSchema === undefined ? null : (opConfig?.config ?? null),
      upstream: upstream.length === 0 ? NO_UPSTREAM : upstream,
    };
    if (cache.retry) step.retry = { ...cache.retry };
    if (node.scope) step.scope = { step: node.scope.node, output: node.scope.output };
    steps.push(step);
  }
  if (problems.length === 1) throw new SelectionError(problems[0] as string);
  if (problems.length > 1) throw new SelectionError(`the step selection cannot run:\n  ${problems.join('\n  ')}`);

  const resources: Record<string, unknown> = {};
  for (const name of Object.keys(pipeline.resources)) resources[name] = config.resources[name]?.config ?? null;

  return {
    version: 1,
    pipeline: pipeline.name,
    fingerprint: pipeline.fingerprint,
    steps,
    resources,
    selection: selected ? steps.map((s) => s.key) : null,
    reuse,
  };
}
