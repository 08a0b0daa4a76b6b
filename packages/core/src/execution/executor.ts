import type { Logger } from 'pino';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import type { StepwiseEvent } from '../events/events.js';
import type { Instance } from '../instance/instance.js';
import type { IOManager } from '../io/io-manager.js';
import type { ExecutionPlan, StepTask } from '../plan/plan.js';

/** What an executor gets for one run. */
export interface LaunchContext {
  runId: string;
  plan: ExecutionPlan;
  pipeline: PipelineDefinition;
  instance: Instance;
  /** The IO manager to hand to steps run in this process: the instance's, with a write-through cache. */
  io: IOManager;
  logger: Logger;
  /** Every event of the run's steps must be delivered here, in the order each step emitted them. */
  receive(event: StepwiseEvent): void;
  /** The run is being resumed by a new coordinator: `adopt` calls follow for the steps the last one dispatched. */
  resuming?: boolean;
  /** The epoch of this coordinator's lease on the run: executors that dispatch elsewhere fence their writes by it. */
  epoch?: number;
  /** The executor found a newer coordinator's fence (its dispatch was refused): this coordinator stops. */
  superseded(reason: string): void;
}

/** Runs the steps of one run somewhere: this process, child processes, or remote workers. */
export interface StepLauncher {
  /** Starts attempt `attempt` of `task` after `delayMs`. Its events come back through `LaunchContext.receive`. */
  launch(task: StepTask, attempt: number, delayMs: number): void;
  /**
   * Resume: takes over attempt `attempt` of a step a previous coordinator dispatched (`started`: it had begun),
   * if the executor can still observe it; its events then come back as usual. Without it, such steps run again.
   */
  adopt?(task: StepTask, attempt: number, started: boolean): void;
  /** Aborts every running step of the run (their `ctx.signal` fires) and drops delayed launches. */
  abort(reason: string): void;
  /** Releases what the launcher holds once the run is over. */
  close(): Promise<void>;
  /**
   * Another coordinator took the run: release what the launcher holds without ending anything of the run (steps keep
   * running, their events go to the new coordinator). Without it, the launcher is aborted and closed.
   */
  release?(): Promise<void>;
}

/** An executor: where and how steps run. Every executor runs a step through `executeStep`. */
export interface Executor {
  readonly kind: string;
  /** Steps in flight at once. */
  readonly maxConcurrent: number;
  start(ctx: LaunchContext): Promise<StepLauncher>;
  /**
   * The IO manager the run's steps must use, when the instance's cannot reach where the steps run
   * (e.g. an in-memory one with remote workers). Default: the instance's.
   */
  runIO?(instance: Instance): IOManager;
  /** Releases what the executor holds across the run (connections), once the run and its result are done. */
  dispose?(): Promise<void>;
}
