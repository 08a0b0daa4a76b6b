import type { Logger } from 'pino';

/** Structured metadata an op reports while it runs (Dagster's AssetMaterialization). */
export interface MaterializationInput {
  kind: 'materialization';
  /** What was materialized, e.g. `warehouse/orders`. */
  assetKey: string;
  description?: string;
  metadata?: Record<string, unknown>;
}

/** Events an op may emit through `ctx.emit`. */
export type UserEvent = MaterializationInput;

/** What `compute(ctx, inputs)` receives. */
export interface OpContext<C = unknown> {
  /** The op's validated config, defaults applied. */
  readonly config: C;
  /** pino logger; every line carries runId and stepKey and lands in the step's compute log. */
  readonly log: Logger;
  readonly runId: string;
  readonly stepKey: string;
  /** 1 for the first attempt; a retry or a re-run after a lost worker gets the next number. */
  readonly attempt: number;
  /** The mapping key when the step is a mapped copy of a dynamic fan-out. */
  readonly mappingKey?: string;
  /** The worker running the step (hostname:pid or `--name`). */
  readonly workerId?: string;
  /** Aborted when the run is canceled or the step times out; long steps should check it. */
  readonly signal: AbortSignal;
  /** The pipeline's resources, built once per process. */
  readonly resources: Readonly<Record<string, unknown>>;
  /** Emits an output before compute returns, so downstream steps see it in the event log at once. */
  output(name: string, value: unknown): void;
  /** Reports structured metadata, recorded as an event of the run. */
  emit(event: UserEvent): void;
}
