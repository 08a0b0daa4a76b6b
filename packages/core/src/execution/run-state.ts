import type { StepwiseEvent } from '../events/events.js';
import type { ExecutionPlan, PlanStep, StepTask } from '../plan/plan.js';
import { evaluateStep, type RunGraph } from './step-inputs.js';
import { addDependent, hasProduced, isTerminal, producedOutput, type StepNode, type StepStatus } from './step-node.js';

/** The events that move a step through its attempt (STEP_*): those of an attempt that is over are stale. */
export function isStepLifecycle(event: StepwiseEvent): boolean {
  return event.type.startsWith('STEP_');
}

/**
 * The state of one run, driven only by its events: which steps are ready, skipped, running or done.
 * Every executor drives one; replaying a stored event log rebuilds it (coordinator recovery).
 * Costs O(1) per event plus the dependents it releases, so 100,000-step runs stay cheap.
 */
export class RunState implements RunGraph {
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
    // An attempt that ended with STEP_UP_FOR_RETRY is over (it may have been declared lost): what it sends later
    // is stale, until the next attempt's events arrive.
    if (node.status === 'UP_FOR_RETRY' && attempt === node.attempt && isStepLifecycle(event)) return false;
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
  planStep(key: string): PlanStep | undefined {
    return this.templates.get(key) ?? this.steps.get(key)?.plan;
  }

  /** The key of upstream plan step `up` as seen from a copy with `mappingKey` of a template in the same scope. */
  resolveKey(up: string, from: PlanStep, mappingKey: string | undefined): string {
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
    const evaluation = evaluateStep(this, node, false);
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
    const evaluation = evaluateStep(this, node, true);
    if (evaluation.kind !== 'ready') return undefined;
    if (!isTerminal(node.status)) node.task = evaluation.task;
    return evaluation.task;
  }
}
