import type { OutputRef } from '../plan/plan.js';

/**
 * Stores step outputs (intermediates) so that downstream steps — in this process, a child process or
 * another machine — and later runs (re-execution) can load them. Addressed by run id + step key + output.
 */
export interface IOManager {
  /**
   * Stores an output. `meta.attempt` is the step attempt that produced it: an IO manager shared by workers that
   * can be lost and come back (Redis) must keep the newest attempt's value and drop a stale attempt's write.
   */
  store(ref: OutputRef, value: unknown, meta?: StoreMeta): Promise<void>;
  /** Rejects with a NotFoundError naming the ref when nothing is stored there. */
  load(ref: OutputRef): Promise<unknown>;
  has(ref: OutputRef): Promise<boolean>;
  /** Drops everything stored for a run. */
  deleteRun?(runId: string): Promise<void>;
  close?(): Promise<void>;
}

export interface StoreMeta {
  attempt: number;
}

/** A stable string key for a ref: `runId/step/output[mappingKey]`. */
export function refKey(ref: OutputRef): string {
  return ref.mappingKey === undefined
    ? `${ref.runId}/${ref.step}/${ref.output}`
    : `${ref.runId}/${ref.step}/${ref.output}[${ref.mappingKey}]`;
}
