import { startRun } from '../execution/execute-pipeline.js';
import { FILE_TAG, loadCodeLocation } from '../location/code-location.js';
import { applyExecutor, followRun, loadRunConfig, parseTags, withInstance } from './options.js';
import { outputMode, RunPrinter } from './output.js';

export interface RunCommandOptions {
  file: string;
  pipeline?: string;
  config?: string[];
  executor?: string;
  select?: string;
  tag?: string[];
  json?: boolean;
}

/** `stepwise run`: executes a pipeline on the local instance, so the run is stored. */
export async function runCommand(opts: RunCommandOptions): Promise<number> {
  const { pipeline, definitions: defs } = await loadCodeLocation(opts);
  const runConfig = loadRunConfig(opts.config);
  const tags = { ...parseTags(opts.tag), [FILE_TAG]: defs.file };
  return withInstance(async (instance) => {
    const printer = new RunPrinter(outputMode(opts.json));
    const handle = startRun(pipeline, {
      // After the instance is open: its plugins may register the executor --executor names.
      runConfig: applyExecutor(runConfig, opts.executor),
      instance,
      tags,
      stepSelection: opts.select,
      onEvent: printer.onEvent,
    });
    return followRun(handle, printer);
  });
}
