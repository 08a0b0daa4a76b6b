import { randomUUID } from 'node:crypto';
import { redactConfig, redactPlan, redactValue } from '../config/redact.js';
import { runConfigSecrets } from '../config/resolve-env.js';
import { validateRunConfig } from '../config/run-config.js';
import { UsageError } from '../errors/index.js';
import { makeEvent } from '../events/events.js';
import type { Instance } from '../instance/instance.js';
import { FILE_TAG, loadCodeLocation, resolvePipeline } from '../location/code-location.js';
import type { LoadedDefinitions } from '../location/load-definitions.js';
import { buildPlan } from '../plan/build-plan.js';
import type { RunRecord } from '../storage/run-storage.js';
import { PRIORITY_TAG } from './run-tags.js';

export interface SubmitRunOptions {
  /** The pipeline file (the code location the daemon's launcher loads again). */
  file: string;
  /** The pipeline's name, when the file has several. */
  pipeline?: string;
  /** Run config object (README.md), validated now. */
  runConfig?: unknown;
  tags?: Record<string, string>;
  /** The run queue's priority, higher first: recorded as the tag `stepwise/priority`. Default 0. */
  priority?: number;
  /** Id of the new run. Default: a random UUID. */
  runId?: string;
  /**
   * The file's definitions when the caller has them loaded already (the scheduler, per tick): used instead of
   * loading `file` again. Their `file` must be `file`.
   */
  definitions?: LoadedDefinitions;
}

/**
 * Stores a run QUEUED for the daemon (docs/daemon.md) and returns its id at once. The file is loaded and the run config
 * validated first: a bad file or config throws (LoadError, ConfigError by path) and nothing is stored.
 */
export async function submitRun(instance: Instance, options: SubmitRunOptions): Promise<string> {
  if (options.priority !== undefined && !Number.isSafeInteger(options.priority)) {
    throw new UsageError(`priority must be an integer, got ${options.priority}`);
  }
  const given = options.definitions;
  const { pipeline, definitions } = given
    ? { pipeline: resolvePipeline(given, options.pipeline), definitions: given }
    : await loadCodeLocation({ file: options.file, pipeline: options.pipeline });
  const raw = options.runConfig ?? {};
  const config = validateRunConfig(pipeline, raw);
  const plan = buildPlan(pipeline, config);
  const tags: Record<string, string> = { ...pipeline.tags, ...config.tags, ...options.tags };
  if (options.priority !== undefined) tags[PRIORITY_TAG] = String(options.priority);
  tags[FILE_TAG] = definitions.file;
  await instance.init();
  const runId = options.runId ?? randomUUID();
  const now = Date.now();
  // Stored as `executePlan` stores a run: secrets masked (give them to the launched run through the environment).
  const secrets = runConfigSecrets(raw);
  const record: RunRecord = {
    runId,
    pipeline: pipeline.name,
    status: 'QUEUED',
    runConfig: redactConfig(raw, { secrets }),
    plan: redactPlan(plan, { secrets }),
    tags: redactValue(tags, { secrets }),
    createdAt: now,
    updatedAt: now,
  };
  await instance.storage.createRun(record);
  await instance.storage.appendEvents([
    makeEvent(
      'ENGINE_EVENT',
      runId,
      { kind: 'queued', details: { file: definitions.file, pipeline: pipeline.name } },
      { message: `queued for the daemon (${pipeline.name} from ${definitions.file})` },
    ),
  ]);
  return runId;
}
