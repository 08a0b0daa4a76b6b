import { startRun } from '../execution/execute-pipeline.js';
import { loadDefinitions, resolvePipeline } from './load-definitions.js';
import { applyExecutor, FILE_TAG, followRun, loadRunConfig, parseTags, withInstance } from './options.js';
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
  const defs = await loadDefinitions(opts.file);
  const pipeline = resolvePipeline(defs, opts.pipeline);
  const runConfig = applyExecutor(loadRunConfig(opts.config), opts.executor);
  const tags = { ...parseTags(opts.tag), [FILE_TAG]: defs.file };
  return withInstance(async (instance) => {
    const printer = new RunPrinter(outputMode(opts.json));
    const handle = startRun(pipeline, {
      runConfig,
      instance,
      tags,
      stepSelection: opts.select,
      onEvent: printer.onEvent,
    });
    return followRun(handle, printer);
  });
}
