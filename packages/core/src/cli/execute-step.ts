import { writeFileSync } from 'node:fs';
import { UsageError } from '../errors/index.js';
import { safeRunId } from '../execution/compiled-run.js';
import { executeCompiledStep } from '../execution/execute-compiled-step.js';
import { executeStoredStep, type StoredStepResult } from '../execution/execute-stored-step.js';
import { loadCodeLocation } from '../location/code-location.js';
import {
  type CompiledPlan,
  EXIT_SKIPPED,
  MAPPING_KEY_ENV,
  parseCompiledPlan,
  readCompiledPlan,
} from '../plan/compiled-plan.js';
import { requireRun } from '../runs/read-run.js';
import { EXIT } from './errors.js';
import { withInstance } from './options.js';
import { RunPrinter, reserveStdout } from './output.js';

export interface ExecuteStepCommandOptions {
  file: string;
  runId: string;
  step: string;
  pipeline?: string;
  json?: boolean;
  createRun?: boolean;
  plan?: string;
  keysFile?: string;
  mappingKey?: string;
  skipExitCode?: string;
}

/** Where `--create-run` without `--plan` reads the compiled plan's JSON (a pod has no plan file beside a DAG). */
export const PLAN_ENV = 'STEPWISE_PLAN';

/** The compiled plan of `--create-run`, from `--plan FILE` or `$STEPWISE_PLAN`; undefined without `--create-run`. */
function compiledPlanOf(opts: ExecuteStepCommandOptions): CompiledPlan | undefined {
  const planText = process.env[PLAN_ENV];
  const compiledOnly = [opts.plan, opts.keysFile, opts.mappingKey, opts.skipExitCode];
  if (!opts.createRun) {
    if (compiledOnly.some((o) => o !== undefined)) {
      throw new UsageError(
        '--plan, --keys-file, --mapping-key and --skip-exit-code go with --create-run (a task of a compiled pipeline)',
      );
    }
    return undefined;
  }
  if (opts.plan !== undefined) return readCompiledPlan(opts.plan);
  if (planText) return parseCompiledPlan(planText, `$${PLAN_ENV}`);
  throw new UsageError(`--create-run needs --plan FILE (or $${PLAN_ENV}): the compiled plan the run is created from`);
}

/**
 * `stepwise execute-step`: runs one step of a stored run here, reading inputs and writing events through the
 * instance. With `--create-run --plan FILE` (a task of a compiled pipeline, docs/deploy/airflow.md, argo.md) the run is got or created
 * from the plan first, one attempt is made, and the exit code is 0, 99 (skipped; `--skip-exit-code`) or 1.
 */
export function executeStepCommand(opts: ExecuteStepCommandOptions): Promise<number> {
  const skipCode = opts.skipExitCode === undefined ? EXIT_SKIPPED : Number(opts.skipExitCode);
  if (!Number.isInteger(skipCode) || skipCode < 0 || skipCode > 255) {
    throw new UsageError(`--skip-exit-code must be an exit code (0-255), got '${opts.skipExitCode}'`);
  }
  return withInstance(async (instance) => {
    const compiled = compiledPlanOf(opts);
    const runId = compiled ? safeRunId(opts.runId) : opts.runId;
    const pipelineName = opts.pipeline ?? compiled?.pipeline ?? (await requireRun(instance, runId)).pipeline;
    const { pipeline } = await loadCodeLocation({ file: opts.file, pipeline: pipelineName });
    const mappingKey = opts.mappingKey || process.env[MAPPING_KEY_ENV];
    const stepKey = compiled && mappingKey && !opts.step.endsWith(']') ? `${opts.step}[${mappingKey}]` : opts.step;
    const write = opts.json ? reserveStdout() : (text: string) => void process.stdout.write(text);
    const printer = new RunPrinter(opts.json ? 'json' : 'plain', write);
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => controller.abort(new Error(`interrupted by ${signal}`));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const options = { signal: controller.signal, onEvent: printer.onEvent };
      const result: StoredStepResult & { mappingKeys?: string[]; runOutcome?: string } = compiled
        ? await executeCompiledStep(instance, compiled, runId, stepKey, pipeline, options)
        : await executeStoredStep(instance, runId, stepKey, pipeline, options);
      write(
        opts.json
          ? `${JSON.stringify({ type: 'STEP_RESULT', ...result })}\n`
          : `step ${result.stepKey} of run ${result.runId}: ${result.status} (attempt ${result.attempt})${result.runOutcome ? `; run ${result.runOutcome}` : ''}\n`,
      );
      if (result.mappingKeys || (result.status === 'SKIPPED' && opts.keysFile !== undefined)) {
        // A skipped fan-out has no items: a scheduler reading the file (Argo's withParam) maps over none.
        const keys = JSON.stringify(result.mappingKeys ?? []);
        if (opts.keysFile !== undefined) writeFileSync(opts.keysFile, `${keys}\n`);
        // The last stdout line: Airflow pushes it as the task's XCom, and the mapped task expands over it.
        if (!opts.json && result.mappingKeys) write(`${keys}\n`);
      }
      if (result.status === 'SUCCESS') return EXIT.success;
      return result.status === 'SKIPPED' ? skipCode : EXIT.runFailed;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
