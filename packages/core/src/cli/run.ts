import { UsageError } from '../errors/index.js';
import { startRun } from '../execution/execute-pipeline.js';
import { FILE_TAG, loadCodeLocation } from '../location/code-location.js';
import { installHooks } from '../location/load-definitions.js';
import { startStoredRun } from '../queue/start-stored-run.js';
import { EXIT } from './errors.js';
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
    let id = runId;
    if (runId === SPARE_RUN_ID) {
      // A warm spare of the daemon's process launcher: storage open and the TypeScript loader in place before the
      // run is known, so that a dequeued run starts without paying for them. EOF (the daemon stopped): nothing to do.
      // (And core's index: a pipeline file imports @stepwise/core, which the CLI's own modules do not load whole.)
      await Promise.all([instance.init(), installHooks(), import('../index.js')]);
      const line = await firstLine(process.stdin);
      if (!line) return EXIT.success;
      id = line;
    }
    const printer = new RunPrinter(outputMode(opts.json));
    return followRun(startStoredRun(instance, id, { onEvent: printer.onEvent }), printer);
  });
}

/** `stepwise run --run-id -`: the run id comes on stdin (what the process launcher's warm spare waits for). */
export const SPARE_RUN_ID = '-';

/** The first line of `stream`, trimmed; undefined at EOF without one. Stops reading after it. */
function firstLine(stream: NodeJS.ReadableStream & { unref?: () => void }): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const done = (line: string | undefined) => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.pause();
      // The run must not wait on the daemon's end of the pipe.
      stream.unref?.();
      resolve(line?.trim() || undefined);
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline >= 0) done(text.slice(0, newline));
    };
    const onEnd = () => done(text);
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}
