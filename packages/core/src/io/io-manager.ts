import type { OutputRef } from '../plan/plan.js';

/**
 * Stores step outputs (intermediates) so that downstream steps — in this process, a child process or
 * another machine — and later runs (re-execution) can load them. Addressed by run id + step key + output.
 */
export interface IOManager {
  store(ref: OutputRef, value: unknown): Promise<void>;
  /** Rejects with a NotFoundError naming the ref when nothing is stored there. */
  load(ref: OutputRef): Promise<unknown>;
  has(ref: OutputRef): Promise<boolean>;
  /** Drops everything stored for a run. */
  deleteRun?(runId: string): Promise<void>;
  close?(): Promise<void>;
}

/** A stable string key for a ref: `runId/step/output[mappingKey]`. */
export function refKey(ref: OutputRef): string {
  return ref.mappingKey === undefined
    ? `${ref.runId}/${ref.step}/${ref.output}`
    : `${ref.runId}/${ref.step}/${ref.output}[${ref.mappingKey}]`;
}
