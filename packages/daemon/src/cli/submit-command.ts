import { loadRunConfig, parseTags, submitRun, UsageError, withInstance } from '@stepwise/core';

export interface SubmitCommandOptions {
  file: string;
  pipeline?: string;
  config?: string[];
  tag?: string[];
  priority?: string;
}

/** `stepwise submit`: validates and stores the run QUEUED, prints its id and returns at once. */
export async function submitCommand(opts: SubmitCommandOptions): Promise<number> {
  let priority: number | undefined;
  if (opts.priority !== undefined) {
    priority = Number(opts.priority);
    if (!Number.isSafeInteger(priority)) throw new UsageError(`--priority must be an integer, got '${opts.priority}'`);
  }
  const runConfig = loadRunConfig(opts.config);
  const tags = parseTags(opts.tag);
  return withInstance(async (instance) => {
    const runId = await submitRun(instance, {
      file: opts.file,
      runConfig,
      tags,
      ...(opts.pipeline === undefined ? {} : { pipeline: opts.pipeline }),
      ...(priority === undefined ? {} : { priority }),
    });
    process.stdout.write(`${runId}\n`);
    return 0;
  });
}
