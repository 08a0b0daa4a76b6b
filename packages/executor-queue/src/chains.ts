import { buildStepTask, type PlanOutput, type PlanStep, type StepTask } from '@stepwise/core';

/** Most chain members one job carries. */
export const MAX_CHAIN = 64;

/**
 * The chains of a run's plan: the successors a worker can run right after a step, in the same job, without a round
 * trip through the coordinator. Deterministic from the plan, so a coordinator resuming the run finds the same
 * chains as the one that died.
 */
export class Chains {
  private readonly links: Map<string, PlanStep>;

  constructor(
    private readonly runId: string,
    steps: readonly PlanStep[],
    /** The queue a plan step's jobs go to. */
    private readonly queueOf: (step: PlanStep) => string,
  ) {
    this.links = chainLinks(steps);
  }

  /**
   * The chain after `task` on `queue`: each member the only step downstream of the previous, reading only its
   * output (or config), on the same queue, and not in flight already (`inFlight`).
   */
  after(task: StepTask, queue: string, inFlight: (key: string) => boolean): StepTask[] {
    const chain: StepTask[] = [];
    if (task.mappingKey !== undefined || this.links.size === 0) return chain;
    let current: { key: string; outputs: readonly PlanOutput[] } = { key: task.planKey, outputs: task.outputs };
    while (chain.length < MAX_CHAIN) {
      if (current.outputs.some((o) => o.dynamic)) break;
      const next = this.links.get(current.key);
      if (!next || this.queueOf(next) !== queue || inFlight(next.key)) break;
      const member = this.member(next, current.key);
      if (!member) break;
      chain.push(member);
      current = next;
    }
    return chain;
  }

  /** The task of `next` reading the outputs of `previous`; undefined when it reads another step too. */
  private member(next: PlanStep, previous: string): StepTask | undefined {
    const inputs: StepTask['inputs'] = {};
    for (const [name, input] of Object.entries(next.inputs)) {
      if (input.from === 'config') inputs[name] = { from: 'config', value: input.value };
      else if (input.from === 'step' && input.step === previous) {
        inputs[name] = { from: 'one', ref: { runId: this.runId, step: previous, output: input.output } };
      } else return undefined;
    }
    return buildStepTask(this.runId, next, inputs);
  }
}

/**
 * The links U -> D of the plan where D is U's only dependent and U is D's only upstream (D not a mapped template).
 * Only such links are kept, so a wide plan holds no index of its steps.
 */
function chainLinks(steps: readonly PlanStep[]): Map<string, PlanStep> {
  const links = new Map<string, PlanStep>();
  for (const step of steps) {
    const [up] = step.upstream;
    if (step.upstream.length === 1 && !step.scope && up !== undefined && !links.has(up)) links.set(up, step);
  }
  if (links.size === 0) return links;
  const dependents = new Map<string, number>();
  for (const step of steps) {
    for (const up of step.upstream) if (links.has(up)) dependents.set(up, (dependents.get(up) ?? 0) + 1);
  }
  for (const [up, count] of dependents) if (count > 1) links.delete(up);
  return links;
}
