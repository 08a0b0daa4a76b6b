import { hasEnvRefs } from '../config/resolve-env.js';
import type { RunConfig } from '../config/run-config.js';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { buildPlan } from '../plan/build-plan.js';
import type { ExecutionPlan } from '../plan/plan.js';
import type { RunRecord } from '../storage/run-storage.js';

/**
 * The plan to drive a stored run with (resume, a daemon's launch). The stored plan has its secrets masked: it is
 * rebuilt from `config` (validated from the config at hand) when that config gives them again, i.e. when the caller
 * passed the run config again or the stored one reads values from the environment (`{ env: NAME }`, read anew).
 */
export function storedRunPlan(
  pipeline: PipelineDefinition,
  run: RunRecord,
  config: RunConfig,
  configGiven: boolean,
): ExecutionPlan {
  if (!configGiven && !hasEnvRefs(run.runConfig)) return run.plan;
  return buildPlan(pipeline, config, {
    ...(run.plan.selection ? { stepSelection: run.plan.selection } : {}),
    reuse: run.plan.reuse,
  });
}
