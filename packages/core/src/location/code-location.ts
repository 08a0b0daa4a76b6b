import { didYouMean } from '../config/format-issues.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { LoadError, NotFoundError, UsageError } from '../errors/index.js';
import type { RunRecord } from '../storage/run-storage.js';
import { type LoadedDefinitions, loadDefinitions } from './load-definitions.js';

/** The run tag that records the file a run's pipeline was loaded from (absolute path). */
export const FILE_TAG = 'stepwise/file';

/** Where a pipeline's code lives: a definitions file and, when it has several, the pipeline's name. */
export interface CodeLocation {
  file: string;
  pipeline?: string;
}

/**
 * The pipeline named `name`, or the file's only pipeline when no name is given. Errors name the file and the
 * pipelines it has.
 */
export function resolvePipeline(defs: LoadedDefinitions, name?: string): PipelineDefinition {
  const names = [...defs.pipelines.keys()];
  if (names.length === 0) {
    throw new LoadError(
      `'${defs.source}' exports no pipeline: export a pipeline() or a repository() (default or named)`,
    );
  }
  if (name === undefined) {
    if (names.length === 1) return defs.pipelines.get(names[0] as string) as PipelineDefinition;
    throw new UsageError(
      `'${defs.source}' has ${names.length} pipelines (${names.join(', ')}); choose one with -p NAME`,
    );
  }
  const found = defs.pipelines.get(name);
  if (!found) {
    throw new NotFoundError(
      `pipeline '${name}' not found in '${defs.source}'${didYouMean(name, names)} (available: ${names.join(', ')})`,
    );
  }
  return found;
}

/** Loads a code location's file and returns its pipeline, with the file's definitions. */
export async function loadCodeLocation(
  location: CodeLocation,
): Promise<{ pipeline: PipelineDefinition; definitions: LoadedDefinitions }> {
  const definitions = await loadDefinitions(location.file);
  return { pipeline: resolvePipeline(definitions, location.pipeline), definitions };
}

/**
 * The code location of a stored run: `file` when given (a caller's override), else the file the run recorded
 * ({@link FILE_TAG}); the pipeline is the run's.
 */
export function codeLocationOf(run: Pick<RunRecord, 'runId' | 'pipeline' | 'tags'>, file?: string): CodeLocation {
  const where = file ?? run.tags[FILE_TAG];
  if (where === undefined)
    throw new UsageError(`run ${run.runId} does not record its pipeline file; give it with -f FILE`);
  return { file: where, pipeline: run.pipeline };
}
