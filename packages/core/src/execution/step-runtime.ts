import type { Logger } from 'pino';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import type { StepwiseEvent } from '../events/events.js';
import type { IOManager } from '../io/io-manager.js';
import type { ComputeLogManager } from '../logs/compute-log-manager.js';
import type { ResourceManager } from './resource-manager.js';

/** What a process needs to execute steps of one pipeline: code, IO, resources, logs. */
export interface StepRuntime {
  pipeline: PipelineDefinition;
  io: IOManager;
  resources: ResourceManager;
  computeLogs?: ComputeLogManager;
  logger: Logger;
  /** Recorded on every event of steps this process runs. */
  workerId?: string;
}

/** Per-execution hooks. */
export interface StepExecutionOptions {
  signal: AbortSignal;
  /** Receives every event of the step, in order. Must not throw. */
  emit: (event: StepwiseEvent) => void;
  /** Resource configs of the run (plan.resources). */
  resourceConfig: Record<string, unknown>;
}

/** How one attempt of a step ended. The events already say so; this is for the caller's convenience. */
export type StepOutcome =
  | { status: 'SUCCESS' }
  | { status: 'FAILURE' }
  | { status: 'RETRY'; delayMs: number }
  | { status: 'CANCELED' };
