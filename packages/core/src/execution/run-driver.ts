import type { Logger } from 'pino';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { type EventDataMap, type EventType, makeEvent, type StepwiseEvent } from '../events/events.js';
import type { Instance } from '../instance/instance.js';
import type { IOManager } from '../io/io-manager.js';
import type { ExecutionPlan, StepTask } from '../plan/plan.js';
import type { Executor, StepLauncher } from './executor.js';
import { isStepLifecycle, RunState } from './run-state.js';
import { recordAsStale, staleOriginal } from './stale-event.js';
import { isTerminal, type StepNode } from './step-node.js';

export type RunOutcome = 'SUCCESS' | 'FAILURE' | 'CANCELED';

/**
 * How a coordinator's drive of a run ended: the run's outcome, or SUPERSEDED when another coordinator took the run
 * (its lease) and this one stopped, leaving the run's outcome to it.
 */
export type RunResultStatus = RunOutcome | 'SUPERSEDED';

export interface RunDriverOptions {
  runId: string;
  plan: ExecutionPlan;
  pipeline: PipelineDefinition;
  instance: Instance;
  /** The IO manager steps of this run use (the instance's, cached in this process). */
  io: IOManager;
  executor: Executor;
  logger: Logger;
  signal?: AbortSignal;
  /** Receives every event of the run in order (persist, callbacks). Must not throw. */
  sink: (event: StepwiseEvent) => void;
  /** After cancellation, how long running steps get to notice `ctx.signal` before being marked CANCELED. */
  cancelGraceMs?: number;
  /** A state rebuilt from a stored event log, to resume a run. */
  state?: RunState;
  /** The stored events `state` was rebuilt from: if the executor delivers them again, they are dropped. */
  storedEvents?: readonly StepwiseEvent[];
  /** The epoch of this coordinator's lease (LaunchContext.epoch). */
  epoch?: number;
}

/** Identity of an event, to recognise one delivered again after a resume. */
function signature(e: StepwiseEvent): string {
  return `${e.type}|${e.stepKey}|${e.attempt}|${e.timestamp}|${e.workerId}|${JSON.stringify(e.data)}`;
}

/**
 * Drives one run: dispatches ready steps to the executor, applies the events that come back to the run state,
 * schedules retries, handles cancellation. The same loop serves every executor. (Not a "run coordinator": in
 * Dagster's vocabulary, and under `runCoordinator` in stepwise.yaml, that is the queue that decides when runs start.)
 */
export class RunDriver {
  readonly state: RunState;
  private launcher?: StepLauncher;
  private readonly active = new Set<StepNode>();
  private pumpScheduled = false;
  private canceled = false;
  private superseded = false;
  private finish?: () => void;
  private cancelTimer?: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private readonly known = new Set<string>();

  constructor(private readonly options: RunDriverOptions) {
    this.state = options.state ?? new RunState(options.plan, options.runId);
  }

  async run(): Promise<RunResultStatus> {
    const { options } = this;
    const done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    const resuming = options.storedEvents !== undefined;
    if (resuming) {
      for (const e of options.storedEvents ?? []) {
        if (e.stepKey !== undefined) this.known.add(signature(staleOriginal(e) ?? e));
      }
      this.emit(
        'ENGINE_EVENT',
        { kind: 'resumed', details: { storedEvents: options.storedEvents?.length ?? 0 } },
        'run resumed by a new coordinator',
      );
    } else {
      this.emit('RUN_START', { stepCount: options.plan.steps.length });
    }
    this.launcher = await options.executor.start({
      runId: options.runId,
      plan: options.plan,
      pipeline: options.pipeline,
      instance: options.instance,
      io: options.io,
      logger: options.logger,
      receive: (event) => this.receive(event),
      resuming,
      epoch: options.epoch,
      superseded: (reason) => this.supersede(reason),
    });
    const onAbort = () => this.cancel(String(options.signal?.reason ?? 'canceled'));
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    if (resuming) this.adoptUnfinished(this.launcher);
    this.pump();
    await done;
    options.signal?.removeEventListener('abort', onAbort);
    if (this.cancelTimer) clearTimeout(this.cancelTimer);
    if (this.superseded) {
      // The run goes on under the newer coordinator: its steps keep running, its shared state is left alone.
      if (this.launcher.release) await this.launcher.release();
      else {
        this.launcher.abort('superseded by another coordinator');
        await this.launcher.close();
      }
      return 'SUPERSEDED';
    }
    await this.launcher.close();
    const durationMs = Date.now() - this.startedAt;
    if (this.canceled) {
      this.emit('RUN_CANCELED', { durationMs });
      return 'CANCELED';
    }
    const failedSteps: string[] = [];
    for (const node of this.state.steps.values()) {
      if (node.status === 'FAILURE') failedSteps.push(node.key);
    }
    const blocked = [...this.state.steps.values()].some((n) => n.status === 'NOT_STARTED');
    if (failedSteps.length > 0 || blocked) {
      this.emit('RUN_FAILURE', { durationMs, failedSteps }, `steps failed: ${failedSteps.join(', ')}`);
      return 'FAILURE';
    }
    this.emit('RUN_SUCCESS', { durationMs });
    return 'SUCCESS';
  }

  /**
   * Another coordinator took the run: stops dispatching and applying events, and ends `run()` with SUPERSEDED.
   * The caller records why (its writes are refused from now on).
   */
  supersede(reason: string): void {
    if (this.superseded) return;
    this.superseded = true;
    this.options.logger.warn({ runId: this.options.runId, reason }, 'coordinator superseded; stopping');
    this.finish?.();
  }

  /** Stops dispatch and aborts running steps. */
  cancel(reason = 'canceled'): void {
    if (this.canceled) return;
    this.canceled = true;
    this.emit('RUN_CANCELING', { reason });
    this.state.stopPending();
    for (const node of [...this.active]) {
      if (node.status === 'UP_FOR_RETRY' || node.status === 'DISPATCHED') this.abandon(node, 'CANCELED');
    }
    this.launcher?.abort(reason);
    const grace = this.options.cancelGraceMs ?? 30_000;
    this.cancelTimer = setTimeout(() => {
      for (const node of [...this.active]) this.abandon(node, 'CANCELED');
      this.schedulePump();
    }, grace);
    this.cancelTimer.unref();
    this.schedulePump();
  }

  /**
   * After a resume: steps the dead coordinator had dispatched are re-adopted where the executor can (the queue
   * executor finds their jobs), else run again as a new attempt; steps waiting for a retry get it.
   */
  private adoptUnfinished(launcher: StepLauncher): void {
    for (const node of this.state.steps.values()) {
      if (isTerminal(node.status) || node.status === 'PENDING' || node.status === 'READY') continue;
      const task = this.state.taskOf(node);
      if (!task) continue;
      if (node.status === 'DISPATCHED' || node.status === 'RUNNING') {
        this.active.add(node);
        if (launcher.adopt) {
          launcher.adopt(task, node.attempt, node.status === 'RUNNING');
        } else {
          this.emit(
            'ENGINE_EVENT',
            { kind: 'step_rerun', details: { stepKey: node.key, attempt: node.attempt } },
            `step '${node.key}' was running when its coordinator died; running it again as attempt ${node.attempt + 1}`,
          );
          launcher.launch(task, node.attempt + 1, 0);
        }
      } else if (node.status === 'UP_FOR_RETRY') {
        this.active.add(node);
        launcher.launch(task, node.attempt + 1, 0);
      }
    }
  }

  /** Entry point of every event coming back from the executor. */
  receive(event: StepwiseEvent): void {
    if (this.superseded) return;
    if (this.known.size > 0 && event.stepKey !== undefined && this.known.delete(signature(event))) return;
    const applied = this.state.apply(event);
    // A late event of an attempt that is over is kept, as what it is: the log never says a step both failed and
    // succeeded, nor holds a success the run did not apply.
    this.options.sink(!applied && event.stepKey !== undefined && isStepLifecycle(event) ? recordAsStale(event) : event);
    if (!applied || event.stepKey === undefined) return;
    const node = this.state.steps.get(event.stepKey);
    if (!node) return;
    if (isTerminal(node.status)) {
      this.active.delete(node);
      this.schedulePump();
      return;
    }
    // An executor may start a step on its own (a worker running a chain): it is in flight all the same.
    this.active.add(node);
    if (event.type === 'STEP_UP_FOR_RETRY') {
      if (this.canceled) this.abandon(node, 'CANCELED');
      else this.launcher?.launch(this.taskFor(node), event.data.nextAttempt, event.data.delayMs);
    }
    this.schedulePump();
  }

  private taskFor(node: StepNode): StepTask {
    const task = this.state.taskOf(node);
    if (!task) throw new Error(`internal: step '${node.key}' was dispatched but its inputs are not all available`);
    return task;
  }

  private abandon(node: StepNode, status: 'CANCELED' | 'FAILURE'): void {
    this.state.abandon(node, status);
    this.active.delete(node);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    // Events can arrive while the executor starts (a resumed run's backlog); dispatch waits for it.
    if (!this.launcher || this.superseded) return;
    for (const node of this.state.takeSkipped()) {
      this.options.sink(
        makeEvent(
          'STEP_SKIPPED',
          this.options.runId,
          { reason: node.skipReason ?? 'upstream skipped' },
          {
            stepKey: node.key,
            attempt: node.attempt,
          },
        ),
      );
    }
    if (this.canceled) {
      this.state.stopPending();
    } else {
      const max = this.options.executor.maxConcurrent;
      const launcher = this.launcher as StepLauncher;
      while (this.active.size < max) {
        const node = this.state.nextReady();
        if (!node) break;
        this.state.markDispatched(node);
        this.active.add(node);
        launcher.launch(this.taskFor(node), node.attempt, 0);
      }
    }
    if (this.state.finished) {
      this.finish?.();
      return;
    }
    if (this.active.size === 0 && !this.pumpScheduled) {
      // Nothing runs and nothing can start: a bug, not a state to wait in. End the run rather than hang.
      const stuck = [...this.state.steps.values()].filter((n) => !isTerminal(n.status)).map((n) => n.key);
      this.emit(
        'ENGINE_EVENT',
        { kind: 'stalled', details: { steps: stuck.slice(0, 20) } },
        `run stalled: ${stuck.slice(0, 5).join(', ')} can never start`,
      );
      for (const key of stuck) {
        const n = this.state.steps.get(key);
        if (n) this.state.abandon(n, 'NOT_STARTED');
      }
      this.finish?.();
    }
  }

  private emit<T extends EventType>(type: T, data: EventDataMap[T], message?: string): void {
    const event = makeEvent(type, this.options.runId, data, message === undefined ? undefined : { message });
    this.state.apply(event);
    this.options.sink(event);
  }
}
