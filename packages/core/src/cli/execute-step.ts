import { executeStoredStep } from '../execution/execute-stored-step.js';
import { loadCodeLocation } from '../location/code-location.js';
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
}

/** `stepwise execute-step`: runs one step of a stored run here, reading inputs and writing events through the instance. */
export function executeStepCommand(opts: ExecuteStepCommandOptions): Promise<number> {
  return withInstance(async (instance) => {
    const run = await requireRun(instance, opts.runId);
    const { pipeline } = await loadCodeLocation({ file: opts.file, pipeline: opts.pipeline ?? run.pipeline });
    const write = opts.json ? reserveStdout() : (text: string) => void process.stdout.write(text);
    const printer = new RunPrinter(opts.json ? 'json' : 'plain', write);
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => controller.abort(new Error(`interrupted by ${signal}`));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await executeStoredStep(instance, opts.runId, opts.step, pipeline, {
        signal: controller.signal,
        onEvent: printer.onEvent,
      });
      write(
        opts.json
          ? `${JSON.stringify({ type: 'STEP_RESULT', ...result })}\n`
          : `step ${result.stepKey} of run ${result.runId}: ${result.status} (attempt ${result.attempt})\n`,
      );
      return result.status === 'SUCCESS' ? EXIT.success : EXIT.runFailed;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
