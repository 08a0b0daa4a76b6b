import type { PlanStep, StepTask } from '../plan/plan.js';

/** Where a step is in its life. The last five are terminal. */
export type StepStatus =
  | 'PENDING'
  | 'READY'
  | 'DISPATCHED'
  | 'RUNNING'
  | 'UP_FOR_RETRY'
  | 'SUCCESS'
  | 'FAILURE'
  | 'SKIPPED'
  | 'CANCELED'
  | 'NOT_STARTED';

const TERMINAL: ReadonlySet<StepStatus> = new Set(['SUCCESS', 'FAILURE', 'SKIPPED', 'CANCELED', 'NOT_STARTED']);

export function isTerminal(status: StepStatus): boolean {
  return TERMINAL.has(status);
}

/** Whether the step's current attempt produced `output`. */
export function hasProduced(node: StepNode, output: string): boolean {
  const { produced } = node;
  return produced === output || (Array.isArray(produced) && produced.includes(output));
}

/** The names of the outputs the step's current attempt produced. */
export function producedNames(node: StepNode): readonly string[] {
  const { produced } = node;
  return produced === undefined ? [] : Array.isArray(produced) ? produced : [produced];
}

/** What a step produced for `output`: `true`, the mapping keys of a dynamic output, or undefined. */
export function producedOutput(node: StepNode, output: string): string[] | true | undefined {
  if (!hasProduced(node, output)) return undefined;
  return node.mappingKeys?.get(output) ?? true;
}

/** Adds `dependent` to the steps waiting for `node`. */
export function addDependent(node: StepNode, dependent: StepNode): void {
  const { dependents } = node;
  if (dependents === undefined) node.dependents = dependent;
  else if (Array.isArray(dependents)) dependents.push(dependent);
  else node.dependents = [dependents, dependent];
}

/** One step of a run: a plan step, or a mapped copy of a template. */
export interface StepNode {
  readonly key: string;
  readonly plan: PlanStep;
  readonly mappingKey?: string;
  status: StepStatus;
  /** The newest attempt seen; events of older attempts are stale. */
  attempt: number;
  /** Upstream steps (and uninstantiated templates) not yet terminal. */
  waiting: number;
  /**
   * Steps waiting for this one: the step itself while there is one (most steps of a wide run have a single
   * dependent, and an array each would cost 5 MB per 100,000 steps), an array from the second.
   */
  dependents?: StepNode | StepNode[];
  /**
   * Names of the outputs this attempt produced: the name while there is one, an array from the second (see
   * hasProduced); `mappingKeys` holds the keys a dynamic output emitted, in order. No Map per step: a
   * 100,000-step run keeps one node per step.
   */
  produced?: string | string[];
  mappingKeys?: Map<string, string[]>;
  /** The step's task while it is ready or in flight (see RunState.taskOf); dropped when it ends. */
  task?: StepTask;
  skipReason?: string;
  startedAt?: number;
  endedAt?: number;
  workerId?: string;
}
