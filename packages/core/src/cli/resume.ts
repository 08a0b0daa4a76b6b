import { startResume } from '../execution/resume.js';
import { codeLocationOf, loadCodeLocation } from '../location/code-location.js';
import { requireRun } from '../runs/read-run.js';
import { followRun, loadRunConfig, withInstance } from './options.js';
import { outputMode, RunPrinter } from './output.js';

export interface ResumeCommandOptions {
  file?: string;
  config?: string[];
  json?: boolean;
  force?: boolean;
}

/**
 * `stepwise resume RUN_ID`: takes over a run whose coordinator died. The pipeline file defaults to the one the
 * run recorded; `-c` gives the run config again (needed when it held secrets, which storage keeps masked).
 */
export function resumeCommand(runId: string, opts: ResumeCommandOptions): Promise<number> {
  const runConfig = opts.config?.length ? loadRunConfig(opts.config) : undefined;
  return withInstance(async (instance) => {
    const run = await requireRun(instance, runId);
    const { pipeline } = await loadCodeLocation(codeLocationOf(run, opts.file));
    const printer = new RunPrinter(outputMode(opts.json));
    const handle = startResume(pipeline, runId, {
      instance,
      runConfig,
      force: opts.force,
      onEvent: printer.onEvent,
    });
    return followRun(handle, printer);
  });
}
