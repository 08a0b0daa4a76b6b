import type { RetryPolicy } from '../definitions/op.js';

/** Where a step input comes from, as wired in the plan. */
export type PlanInput =
  /** One output of an upstream step. Inside a map scope, a template `step` resolves to the same copy. */
  | { from: 'step'; step: string; output: string }
  /** A list of outputs (fan-in), in order. */
  | { from: 'fanIn'; sources: Array<{ step: string; output: string }> }
  /** The item of dynamic output `step.output` whose mapping key is this copy's. */
  | { from: 'mapped'; step: string; output: string }
  /** Every item of dynamic output `step.output`, or every copy's `output` when `step` is a mapped template. */
  | { from: 'collect'; step: string; output: string }
  /** A value given in run config at `ops.<step>.inputs.<name>`. */
  | { from: 'config'; value: unknown };

export interface PlanOutput {
  name: string;
  optional: boolean;
  dynamic: boolean;
}

/** One step of the plan. Plain data: JSON round-trips. */
export interface PlanStep {
  /** Stable key: the node name (alias where aliased). Copies of a template are `key[mappingKey]`. */
  key: string;
  /** Name of the op definition it runs. */
  op: string;
  inputs: Record<string, PlanInput>;
  outputs: PlanOutput[];
  tags: Record<string, string>;
  /** Validated op config, defaults applied. */
  config: unknown;
  retry?: RetryPolicy;
  /** Keys of the plan steps this one waits for. */
  upstream: string[];
  /** Set on templates: the step is copied once per item of this dynamic output when it is known. */
  scope?: { step: string; output: string };
}

/** A compiled pipeline + run config: everything a run needs except the code. */
export interface ExecutionPlan {
  version: 1;
  pipeline: string;
  /** The pipeline's fingerprint; workers refuse to run steps of a plan whose fingerprint differs from their code's. */
  fingerprint: string;
  /** Steps in topological order. */
  steps: PlanStep[];
  /** Validated resource configs by resource name. */
  resources: Record<string, unknown>;
  /** Keys of the selected steps, or null when the whole pipeline runs. */
  selection: string[] | null;
  /** Steps outside the plan whose stored outputs feed it: step key -> run id holding the outputs. */
  reuse: Record<string, string>;
}

/** An output of a step in some run, as stored by an IO manager. */
export interface OutputRef {
  runId: string;
  step: string;
  output: string;
  /** The item's mapping key, for items of a dynamic output. */
  mappingKey?: string;
}

/** A step input with concrete sources, ready to load. */
export type ResolvedInput =
  | { from: 'one'; ref: OutputRef }
  | { from: 'many'; refs: OutputRef[] }
  | { from: 'config'; value: unknown };

/** A runnable step: what an executor hands to `executeStep`, in-process or over the wire. */
export interface StepTask {
  runId: string;
  /** The step key, `key[mappingKey]` for a mapped copy. */
  key: string;
  /** The plan step (template) key it comes from. */
  planKey: string;
  op: string;
  mappingKey?: string;
  inputs: Record<string, ResolvedInput>;
  outputs: PlanOutput[];
  config: unknown;
  tags: Record<string, string>;
  retry?: RetryPolicy;
}
