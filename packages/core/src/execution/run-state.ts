import type { StepwiseEvent } from '../events/events.js';
import type { ExecutionPlan, OutputRef, PlanInput, PlanStep, ResolvedInput, StepTask } from '../plan/plan.js';

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
function addDependent(node: StepNode, dependent: StepNode): void {
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

type Evaluation = { kind: 'ready'; task?: StepTask } | { kind: 'skip'; reason: string } | { kind: 'blocked' };

const READY: Evaluation = { kind: 'ready' };
const BLOCKED: Evaluation = { kind: 'blocked' };

/**
 * The state of one run, driven only by its events: which steps are ready, skipped, running or done.
 * Every executor drives one; replaying a stored event log rebuilds it (coordinator recovery).
 * Costs O(1) per event plus the dependents it releases, so 100,000-step runs stay cheap.
 */
export class RunState {
  readonly steps = new Map<string, StepNode>();
  canceling = false;
  /** Plan steps copied per item of a dynamic output (the others are found through their node). */
  private readonly templates = new Map<string, PlanStep>();
  /** Dynamic source step key -> templates in its scope, in plan order. */
  private readonly templatesBySource = new Map<string, PlanStep[]>();
  /** Template key -> steps outside the scope that collect it. */
  private readonly collectors = new Map<string, StepNode[]>();
  private readonly ready: StepNode[] = [];
  private readyHead = 0;
  private readonly skipped: StepNode[] = [];
  private open = 0;

  constructor(
    readonly plan: ExecutionPlan,
    readonly runId: string,
  ) {
    for (const step of plan.steps) {
      if (step.scope) {
        this.templates.set(step.key, step);
        const list = this.templatesBySource.get(step.scope.step);
        if (list) list.push(step);
        else this.templatesBySource.set(step.scope.step, [step]);
      }
    }
    const fresh: StepNode[] = [];
    for (const step of plan.steps) {
      if (!step.scope) fresh.push(this.addNode(step.key, step, undefined));
    }
    this.settleFresh(fresh);
  }

  /** True when every step is terminal. */
  get finished(): boolean {
    return this.open === 0;
  }

  /** Pops the next step whose inputs are all available, or undefined. */
  nextReady(): StepNode | undefined {
    while (this.readyHead < this.ready.length) {
      const node = this.ready[this.readyHead++] as StepNode;
      if (node.status === 'READY') {
        if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
          this.ready.splice(0, this.readyHead);
          this.readyHead = 0;
        }
        return node;
      }
    }
    return undefined;
  }

  /** Steps skipped since the last call, for the coordinator to record STEP_SKIPPED events. */
  takeSkipped(): StepNode[] {
    return this.skipped.splice(0, this.skipped.length);
  }

  markDispatched(node: StepNode): void {
    if (node.status === 'READY') node.status = 'DISPATCHED';
  }

  /**
   * Applies one event. Returns false when the event is stale (an older attempt, a step already finished)
   * or names no known step: such events are recorded but change nothing.
   */
  apply(event: StepwiseEvent): boolean {
    if (event.stepKey === undefined) {
      if (event.type === 'RUN_CANCELING') this.canceling = true;
      return true;
    }
    const node = this.steps.get(event.stepKey);
    if (!node) return false;
    const attempt = event.attempt ?? node.attempt;
    if (attempt < node.attempt) return false;
    if (isTerminal(node.status)) return event.type === 'LOG' || event.type === 'MATERIALIZATION';
    if (attempt > node.attempt) {
      node.attempt = attempt;
      node.produced = undefined;
      node.mappingKeys = undefined;
    }
    switch (event.type) {
      case 'STEP_RESTARTED':
        node.status = 'DISPATCHED';
        break;
      case 'STEP_START':
        node.status = 'RUNNING';
        node.startedAt ??= event.timestamp;
        if (event.workerId !== undefined) node.workerId = event.workerId;
        break;
      case 'STEP_OUTPUT': {
        const { output, mappingKey } = event.data;
        if (node.produced === undefined) node.produced = output;
        else if (!hasProduced(node, output)) {
          if (Array.isArray(node.produced)) node.produced.push(output);
          else node.produced = [node.produced, output];
        }
        if (mappingKey !== undefined) {
          node.mappingKeys ??= new Map();
          const keys = node.mappingKeys.get(output);
          if (keys) keys.push(mappingKey);
          else node.mappingKeys.set(output, [mappingKey]);
        }
        break;
      }
      case 'STEP_UP_FOR_RETRY':
        node.status = 'UP_FOR_RETRY';
        break;
      case 'STEP_SUCCESS':
        this.finish(node, 'SUCCESS', event.timestamp);
        break;
      case 'STEP_FAILURE':
        this.finish(node, this.canceling ? 'CANCELED' : 'FAILURE', event.timestamp);
        break;
      case 'STEP_SKIPPED':
        node.skipReason = event.data.reason;
        this.finish(node, 'SKIPPED', event.timestamp);
        break;
      default:
        break;
    }
    return true;
  }

  /**
   * Ends every step that is not running: ready and pending steps become NOT_STARTED.
   * Used when the run is canceled or has failed and dispatch stops.
   */
  stopPending(): void {
    const stopped: StepNode[] = [];
    for (const node of this.steps.values()) {
      if (node.status === 'PENDING' || node.status === 'READY') {
        node.status = 'NOT_STARTED';
        this.open--;
        stopped.push(node);
      }
    }
    for (const node of stopped) this.release(node);
  }

  /** Marks a step that will never report again (e.g. canceled before it started) as terminal. */
  abandon(node: StepNode, status: 'CANCELED' | 'FAILURE' | 'NOT_STARTED'): void {
    if (!isTerminal(node.status)) this.finish(node, status, Date.now());
  }

  private addNode(key: string, plan: PlanStep, mappingKey: string | undefined): StepNode {
    const node: StepNode = {
      key,
      plan,
      mappingKey,
      status: 'PENDING',
      attempt: 1,
      waiting: 0,
    };
    this.steps.set(key, node);
    this.open++;
    for (const up of plan.upstream) {
      const upPlan = this.planStep(up);
      if (upPlan?.scope && upPlan.scope.step !== plan.scope?.step) {
        // Collecting a template: wait for it to be instantiated, then for each copy.
        node.waiting++;
        const list = this.collectors.get(up);
        if (list) list.push(node);
        else this.collectors.set(up, [node]);
        continue;
      }
      const upNode = this.steps.get(this.resolveKey(up, plan, mappingKey));
      if (upNode && !isTerminal(upNode.status)) {
        node.waiting++;
        addDependent(upNode, node);
      }
    }
    return node;
  }

  /** The plan step `key`, or undefined when it is not in the plan. */
  private planStep(key: string): PlanStep | undefined {
    return this.templates.get(key) ?? this.steps.get(key)?.plan;
  }

  /** The key of upstream plan step `up` as seen from a copy with `mappingKey` of a template in the same scope. */
  private resolveKey(up: string, from: PlanStep, mappingKey: string | undefined): string {
    if (mappingKey === undefined || !from.scope) return up;
    const upPlan = this.planStep(up);
    return upPlan?.scope && upPlan.scope.step === from.scope.step ? `${up}[${mappingKey}]` : up;
  }

  private finish(node: StepNode, status: StepStatus, at: number): void {
    node.status = status;
    node.endedAt = at;
    node.task = undefined;
    this.open--;
    this.release(node);
  }

  /** Releases the dependents of a step that just became terminal, and of any step that cascades from it. */
  private release(first: StepNode): void {
    const work: StepNode[] = [first];
    while (work.length > 0) {
      const node = work.pop() as StepNode;
      const templates = this.templatesBySource.get(node.key);
      if (templates) this.instantiate(node, templates, work);
      const { dependents } = node;
      if (dependents === undefined) continue;
      for (const dep of Array.isArray(dependents) ? dependents : [dependents]) {
        if (--dep.waiting === 0 && dep.status === 'PENDING') this.settle(dep, work);
      }
    }
  }

  private settleFresh(fresh: StepNode[]): void {
    const work: StepNode[] = [];
    for (const node of fresh) if (node.waiting === 0) this.settle(node, work);
    while (work.length > 0) this.release(work.pop() as StepNode);
  }

  /** Decides a step whose upstream is all terminal: ready, skipped, or never started. */
  private settle(node: StepNode, work: StepNode[]): void {
    const evaluation = this.evaluate(node, false);
    if (evaluation.kind === 'ready') {
      node.status = 'READY';
      this.ready.push(node);
      return;
    }
    if (evaluation.kind === 'skip') {
      node.skipReason = evaluation.reason;
      node.status = 'SKIPPED';
      this.skipped.push(node);
    } else {
      node.status = 'NOT_STARTED';
    }
    node.endedAt = Date.now();
    this.open--;
    work.push(node);
  }

  /** Creates the copies of a dynamic source's templates, one per item, and wires their collectors. */
  private instantiate(source: StepNode, templates: PlanStep[], work: StepNode[]): void {
    const created: StepNode[] = [];
    for (const template of templates) {
      const scope = template.scope as { step: string; output: string };
      const produced = source.status === 'SUCCESS' ? producedOutput(source, scope.output) : undefined;
      const keys = Array.isArray(produced) ? produced : [];
      const copies = keys.map((k) => this.addNode(`${template.key}[${k}]`, template, k));
      created.push(...copies);
      for (const collector of this.collectors.get(template.key) ?? []) {
        for (const copy of copies) {
          if (!isTerminal(copy.status)) {
            collector.waiting++;
            addDependent(copy, collector);
          }
        }
        if (--collector.waiting === 0 && collector.status === 'PENDING') this.settle(collector, work);
      }
    }
    for (const copy of created) if (copy.waiting === 0 && copy.status === 'PENDING') this.settle(copy, work);
  }

  /**
   * The task of a step whose upstream has ended with its inputs available (ready, in flight, or ended after it
   * ran), else undefined. Built when first asked, at dispatch rather than when the step becomes ready, and kept
   * until the step ends: a wide run holds tasks only for the steps in flight. The upstream of such a step is
   * terminal, and terminal steps never change, so a task built later is the one that would have been built then.
   */
  taskOf(node: StepNode): StepTask | undefined {
    if (node.task) return node.task;
    if (node.status === 'PENDING' || node.status === 'SKIPPED' || node.status === 'NOT_STARTED') return undefined;
    const evaluation = this.evaluate(node, true);
    if (evaluation.kind !== 'ready') return undefined;
    if (!isTerminal(node.status)) node.task = evaluation.task;
    return evaluation.task;
  }

  /** Decides whether `node` can run; with `build`, builds its task when it can (deciding alone builds none). */
  private evaluate(node: StepNode, build: boolean): Evaluation {
    const plan = node.plan;
    for (const up of plan.upstream) {
      const upPlan = this.planStep(up);
      if (upPlan?.scope && upPlan.scope.step !== plan.scope?.step) continue;
      const upNode = this.steps.get(this.resolveKey(up, plan, node.mappingKey));
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
            if (!this.produced(input.step, input.output, plan, node.mappingKey)) {
              return { kind: 'skip', reason: `input '${name}': '${input.step}.${input.output}' was not produced` };
            }
            break;
          }
          const ref = this.refFor(input.step, input.output, plan, node.mappingKey);
          if (!ref)
            return { kind: 'skip', reason: `input '${name}': '${input.step}.${input.output}' was not produced` };
          inputs[name] = { from: 'one', ref };
          break;
        }
        case 'fanIn': {
          if (!inputs) {
            // Deciding only: one produced source is enough (a 100,000-way fan-in builds its refs once, at dispatch).
            const any = input.sources.some((s) => this.produced(s.step, s.output, plan, node.mappingKey));
            if (!any && input.sources.length > 0) {
              return { kind: 'skip', reason: `input '${name}': none of its sources was produced` };
            }
            break;
          }
          const refs: OutputRef[] = [];
          for (const s of input.sources) {
            const ref = this.refFor(s.step, s.output, plan, node.mappingKey);
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
            ref: { runId: this.runId, step: input.step, output: input.output, mappingKey: node.mappingKey as string },
          };
          break;
        case 'collect': {
          const refs = this.collectRefs(input.step, input.output);
          if (refs === 'blocked') return BLOCKED;
          if (refs === 'skipped') return { kind: 'skip', reason: `input '${name}': '${input.step}' was skipped` };
          if (inputs) inputs[name] = { from: 'many', refs };
          break;
        }
      }
    }
    if (!inputs) return READY;
    const task: StepTask = {
      runId: this.runId,
      key: node.key,
      planKey: plan.key,
      op: plan.op,
      inputs,
      outputs: plan.outputs,
      config: plan.config,
      tags: plan.tags,
    };
    if (node.mappingKey !== undefined) task.mappingKey = node.mappingKey;
    if (plan.retry) task.retry = plan.retry;
    return { kind: 'ready', task };
  }

  /** Whether an upstream output is there to read (refFor without building the ref). */
  private produced(step: string, output: string, from: PlanStep, mappingKey: string | undefined): boolean {
    if (this.plan.reuse[step] !== undefined && !this.planStep(step)) return true;
    const up = this.steps.get(this.resolveKey(step, from, mappingKey));
    return up?.status === 'SUCCESS' && hasProduced(up, output);
  }

  /** The ref of an upstream output, or undefined when it was skipped or not produced. */
  private refFor(step: string, output: string, from: PlanStep, mappingKey: string | undefined): OutputRef | undefined {
    const reusedRun = this.plan.reuse[step];
    if (reusedRun !== undefined && !this.planStep(step)) return { runId: reusedRun, step, output };
    const key = this.resolveKey(step, from, mappingKey);
    const up = this.steps.get(key);
    if (up?.status !== 'SUCCESS' || !hasProduced(up, output)) return undefined;
    return { runId: this.runId, step: key, output };
  }

  /** Refs of every item of a dynamic output, or of every copy of a template's output, in mapping-key order. */
  private collectRefs(step: string, output: string): OutputRef[] | 'blocked' | 'skipped' {
    const plan = this.planStep(step);
    const sourceKey = plan?.scope ? plan.scope.step : step;
    const source = this.steps.get(sourceKey);
    if (!source || source.status === 'SKIPPED') return 'skipped';
    if (source.status !== 'SUCCESS') return 'blocked';
    if (!plan?.scope) {
      const keys = producedOutput(source, output);
      return (Array.isArray(keys) ? keys : []).map((k) => ({ runId: this.runId, step, output, mappingKey: k }));
    }
    const keys = producedOutput(source, plan.scope.output);
    const refs: OutputRef[] = [];
    for (const k of Array.isArray(keys) ? keys : []) {
      const copy = this.steps.get(`${step}[${k}]`);
      if (!copy) continue;
      if (copy.status === 'FAILURE' || copy.status === 'CANCELED' || copy.status === 'NOT_STARTED') return 'blocked';
      if (copy.status === 'SUCCESS' && hasProduced(copy, output)) {
        refs.push({ runId: this.runId, step: copy.key, output });
      }
    }
    return refs;
  }
}
