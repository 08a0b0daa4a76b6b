import { UsageError } from '../errors/index.js';
import { startReexecution } from '../execution/reexecute.js';
import { codeLocationOf, FILE_TAG, loadCodeLocation } from '../location/code-location.js';
import { requireRun } from '../runs/read-run.js';
import { followRun, loadRunConfig, parseTags, withInstance } from './options.js';
import { outputMode, RunPrinter } from './output.js';

export interface ReexecuteCommandOptions {
  file?: string;
  config?: string[];
  fromFailure?: boolean;
  select?: string;
  tag?: string[];
  json?: boolean;
}

/**
 * `stepwise reexecute RUN_ID`: a new run linked to RUN_ID that reuses the stored outputs of the steps it does not
 * run again. The pipeline file defaults to the one `stepwise run` recorded with the parent.
 */
export function reexecuteCommand(parentRunId: string, opts: ReexecuteCommandOptions): Promise<number> {
  if (opts.fromFailure && opts.select !== undefined) throw new UsageError('give --from-failure or --select, not both');
  const tags = parseTags(opts.tag);
  const runConfig = opts.config?.length ? loadRunConfig(opts.config) : undefined;
  return withInstance(async (instance) => {
    const parent = await requireRun(instance, parentRunId);
    const { pipeline, definitions: defs } = await loadCodeLocation(codeLocationOf(parent, opts.file));
    const printer = new RunPrinter(outputMode(opts.json));
    const handle = startReexecution(instance, parentRunId, pipeline, {
      fromFailure: opts.fromFailure,
      ...(opts.select !== undefined ? { stepSelection: opts.select } : {}),
      runConfig,
      tags: { ...tags, [FILE_TAG]: defs.file },
      onEvent: printer.onEvent,
    });
    return followRun(handle, printer);
  });
}
