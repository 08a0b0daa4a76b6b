import { NotFoundError } from '../errors/index.js';
import type { SerializedError } from '../events/events.js';
import type { IOManager } from '../io/io-manager.js';
import type { RunResultStatus } from './run-driver.js';
import type { RunState } from './run-state.js';
import { producedNames, producedOutput } from './step-node.js';
import { type StepResult, stepResults } from './step-results.js';

/** What `executePipeline` resolves to. A failed run resolves too, with status FAILURE. */
export interface RunResult {
  runId: string;
  pipeline: string;
  /**
   * SUPERSEDED: another coordinator took the run and this one stopped; the run's outcome is that one's (the steps
   * this one did not see end show as CANCELED).
   */
  status: RunResultStatus;
  success: boolean;
  durationMs: number;
  steps: Record<string, StepResult>;
  /**
   * An output's value: `result` by default; for a dynamic output, the list of its items in order.
   * Synchronous for outputs this process holds (in-process runs, or loaded with `loadOutputs`).
   */
  output(stepKey: string, name?: string): unknown;
  /** Loads an output through the instance's IO manager (works for any executor). */
  loadOutput(stepKey: string, name?: string): Promise<unknown>;
  /** Loads every produced output, so that `output()` answers for runs executed elsewhere. */
  loadOutputs(): Promise<void>;
}

export function buildRunResult(
  state: RunState,
  pipeline: string,
  outcome: RunResultStatus,
  durationMs: number,
  errors: Map<string, SerializedError>,
  io: IOManager,
): RunResult {
  // Built when first read, not at the end of every run: a 100,000-step run's results are 20 MB of objects that
  // most callers (the CLI, a service checking `success`) never look at.
  let steps: Record<string, StepResult> | undefined;
  const loaded = new Map<string, unknown>();
  const refsOf = (stepKey: string, name: string) => {
    const node = state.steps.get(stepKey);
    if (!node) throw new NotFoundError(`run ${state.runId} has no step '${stepKey}'`);
    const produced = producedOutput(node, name);
    if (produced === undefined || node.status !== 'SUCCESS') {
      throw new NotFoundError(`step '${stepKey}' of run ${state.runId} produced no output '${name}'`);
    }
    return Array.isArray(produced)
      ? { many: true, refs: produced.map((k) => ({ runId: state.runId, step: stepKey, output: name, mappingKey: k })) }
      : { many: false, refs: [{ runId: state.runId, step: stepKey, output: name }] };
  };
  const load = async (stepKey: string, name: string) => {
    const { many, refs } = refsOf(stepKey, name);
    const values = await Promise.all(refs.map((r) => io.load(r)));
    return many ? values : values[0];
  };
  return {
    runId: state.runId,
    pipeline,
    status: outcome,
    success: outcome === 'SUCCESS',
    durationMs,
    get steps() {
      steps ??= Object.fromEntries(
        stepResults(state, errors, outcome === 'SUPERSEDED' ? 'CANCELED' : outcome).map((s) => [s.key, s]),
      );
      return steps;
    },
    output(stepKey, name = 'result') {
      const key = `${stepKey}\0${name}`;
      if (!loaded.has(key)) {
        refsOf(stepKey, name);
        throw new NotFoundError(
          `output '${stepKey}.${name}' is not loaded in this process; call await result.loadOutput('${stepKey}', '${name}')`,
        );
      }
      return loaded.get(key);
    },
    loadOutput: (stepKey, name = 'result') => load(stepKey, name),
    async loadOutputs() {
      const jobs: Promise<void>[] = [];
      for (const node of state.steps.values()) {
        if (node.status !== 'SUCCESS') continue;
        for (const name of producedNames(node)) {
          jobs.push(load(node.key, name).then((v) => void loaded.set(`${node.key}\0${name}`, v)));
        }
      }
      await Promise.all(jobs);
    },
  };
}
