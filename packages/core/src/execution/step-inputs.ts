import type { ExecutionPlan, OutputRef, PlanInput, PlanStep, ResolvedInput, StepTask } from '../plan/plan.js';
import { buildStepTask } from '../plan/step-task.js';
import { hasProduced, producedOutput, type StepNode } from './step-node.js';

/** What evaluateStep reads of a run's state (RunState). */
export interface RunGraph {
  readonly runId: string;
  readonly plan: ExecutionPlan;
  readonly steps: ReadonlyMap<string, StepNode>;
  /** The plan step `key`, or undefined when it is not in the plan. */
  planStep(key: string): PlanStep | undefined;
  /** The key of upstream plan step `up` as seen from a copy with `mappingKey` of a template in the same scope. */
  resolveKey(up: string, from: PlanStep, mappingKey: string | undefined): string;
}

export type Evaluation = { kind: 'ready'; task?: StepTask } | { kind: 'skip'; reason: string } | { kind: 'blocked' };

const READY: Evaluation = { kind: 'ready' };
const BLOCKED: Evaluation = { kind: 'blocked' };

/** Decides whether `node` can run; with `build`, builds its task when it can (deciding alone builds none). */
export function evaluateStep(run: RunGraph, node: StepNode, build: boolean): Evaluation {
  const plan = node.plan;
  for (const up of plan.upstream) {
    const upPlan = run.planStep(up);
    if (upPlan?.scope && upPlan.scope.step !== plan.scope?.step) continue;
    const upNode = run.steps.get(run.resolveKey(up, plan, node.mappingKey));
    if (upNode && (upNode.status === 'FAILURE' || upNode.status === 'CANCELED' || upNode.status === 'NOT_STARTED')) {
      return BLOCKED;
    }
  }
  // Deciding only (build false) allocates nothing on the way: every step of a run is decided once.
  const inputs: Record<string, ResolvedInput> | undefined = build ? {} : undefined;
  for (const name in plan.inputs) {
    const input = plan.inputs[name] as PlanInput;
    switch (input.from) {
      case 'config':
        if (inputs) inputs[name] = { from: 'config', value: input.value };
        break;
      case 'step': {
        if (!inputs) {
          if (!produced(run, input.step, input.output, plan, node.mappingKey)) {
            return { kind: 'skip', reason: `input '${name}': '${input.step}.${input.output}' was not produced` };
          }
          break;
        }
        const ref = refFor(run, input.step, input.output, plan, node.mappingKey);
        if (!ref) return { kind: 'skip', reason: `input '${name}': '${input.step}.${input.output}' was not produced` };
        inputs[name] = { from: 'one', ref };
        break;
      }
      case 'fanIn': {
        if (!inputs) {
          // Deciding only: one produced source is enough (a 100,000-way fan-in builds its refs once, at dispatch).
          const any = input.sources.some((s) => produced(run, s.step, s.output, plan, node.mappingKey));
          if (!any && input.sources.length > 0) {
            return { kind: 'skip', reason: `input '${name}': none of its sources was produced` };
          }
          break;
        }
        const refs: OutputRef[] = [];
        for (const s of input.sources) {
          const ref = refFor(run, s.step, s.output, plan, node.mappingKey);
          if (ref) refs.push(ref);
        }
        if (refs.length === 0 && input.sources.length > 0) {
          return { kind: 'skip', reason: `input '${name}': none of its sources was produced` };
        }
        inputs[name] = { from: 'many', refs };
        break;
      }
      case 'mapped':
        if (!inputs) break;
        inputs[name] = {
          from: 'one',
          ref: { runId: run.runId, step: input.step, output: input.output, mappingKey: node.mappingKey as string },
        };
        break;
      case 'collect': {
        const refs = collectRefs(run, input.step, input.output);
        if (refs === 'blocked') return BLOCKED;
        if (refs === 'skipped') return { kind: 'skip', reason: `input '${name}': '${input.step}' was skipped` };
        if (inputs) inputs[name] = { from: 'many', refs };
        break;
      }
    }
  }
  if (!inputs) return READY;
  return { kind: 'ready', task: buildStepTask(run.runId, plan, inputs, node.mappingKey) };
}

/** Whether an upstream output is there to read (refFor without building the ref). */
function produced(
  run: RunGraph,
  step: string,
  output: string,
  from: PlanStep,
  mappingKey: string | undefined,
): boolean {
  if (run.plan.reuse[step] !== undefined && !run.planStep(step)) return true;
  const up = run.steps.get(run.resolveKey(step, from, mappingKey));
  return up?.status === 'SUCCESS' && hasProduced(up, output);
}

/** The ref of an upstream output, or undefined when it was skipped or not produced. */
function refFor(
  run: RunGraph,
  step: string,
  output: string,
  from: PlanStep,
  mappingKey: string | undefined,
): OutputRef | undefined {
  const reusedRun = run.plan.reuse[step];
  if (reusedRun !== undefined && !run.planStep(step)) return { runId: reusedRun, step, output };
  const key = run.resolveKey(step, from, mappingKey);
  const up = run.steps.get(key);
  if (up?.status !== 'SUCCESS' || !hasProduced(up, output)) return undefined;
  return { runId: run.runId, step: key, output };
}

/** Refs of every item of a dynamic output, or of every copy of a template's output, in mapping-key order. */
function collectRefs(run: RunGraph, step: string, output: string): OutputRef[] | 'blocked' | 'skipped' {
  const plan = run.planStep(step);
  const sourceKey = plan?.scope ? plan.scope.step : step;
  const source = run.steps.get(sourceKey);
  if (!source || source.status === 'SKIPPED') return 'skipped';
  if (source.status !== 'SUCCESS') return 'blocked';
  if (!plan?.scope) {
    const keys = producedOutput(source, output);
    return (Array.isArray(keys) ? keys : []).map((k) => ({ runId: run.runId, step, output, mappingKey: k }));
  }
  const keys = producedOutput(source, plan.scope.output);
  const refs: OutputRef[] = [];
  for (const k of Array.isArray(keys) ? keys : []) {
    const copy = run.steps.get(`${step}[${k}]`);
    if (!copy) continue;
    if (copy.status === 'FAILURE' || copy.status === 'CANCELED' || copy.status === 'NOT_STARTED') return 'blocked';
    if (copy.status === 'SUCCESS' && hasProduced(copy, output)) {
      refs.push({ runId: run.runId, step: copy.key, output });
    }
  }
  return refs;
}
