import { UsageError } from '../errors/index.js';
import { startRun } from '../execution/execute-pipeline.js';
import { FILE_TAG, loadCodeLocation } from '../location/code-location.js';
import { startStoredRun } from '../queue/start-stored-run.js';
import { applyExecutor, followRun, loadRunConfig, parseTags, withInstance } from './options.js';
import { outputMode, RunPrinter } from './output.js';

export interface RunCommandOptions {
  file?: string;
  /** Run this stored STARTING run (what the daemon's process launcher starts) instead of a new one. */
  runId?: string;
  pipeline?: string;
  config?: string[];
  executor?: string;
  select?: string;
  tag?: string[];
  json?: boolean;
}

/** `stepwise run`: executes a pipeline on the local instance, so the run is stored. */
export async function runCommand(opts: RunCommandOptions): Promise<number> {
  if (opts.runId !== undefined) return runStoredCommand(opts.runId, opts);
  if (opts.file === undefined)
    throw new UsageError('give the pipeline file with -f FILE (or a queued run with --run-id ID)');
  const { pipeline, definitions: defs } = await loadCodeLocation({ file: opts.file, pipeline: opts.pipeline });
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

/** `stepwise run --run-id ID`: runs a run the daemon dequeued, from the code location it recorded. */
function runStoredCommand(runId: string, opts: RunCommandOptions): Promise<number> {
  const given = [opts.file && '-f', opts.pipeline && '-p', opts.config?.length && '-c', opts.executor && '--executor'];
  const conflicting = [...given, opts.select && '--select', opts.tag?.length && '--tag'].filter(Boolean);
  if (conflicting.length > 0) {
    throw new UsageError(`--run-id runs the stored run as submitted; drop ${conflicting.join(', ')}`);
  }
  return withInstance(async (instance) => {
    const printer = new RunPrinter(outputMode(opts.json));
    return followRun(startStoredRun(instance, runId, { onEvent: printer.onEvent }), printer);
  });
}
