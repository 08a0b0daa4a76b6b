import { type Instance, safeRunId, submitRun } from '@stepwise/core';
import type { LaunchTick } from './scheduler-pass.js';

/**
 * Launches a tick's run as a QUEUED run for the daemon's run queue. Its id is made from the run key, so a tick
 * taken over after its claimer died finds the run that claimer already stored instead of making a second one.
 */
export function queuedTickLauncher(instance: Instance, file: string): LaunchTick {
  return async ({ def, runConfig, tags, runKey }) => {
    const runId = safeRunId(runKey);
    if (await instance.storage.getRun(runId)) return runId;
    try {
      return await submitRun(instance, { file, pipeline: def.pipeline.name, runConfig, tags, runId });
    } catch (err) {
      if (await instance.storage.getRun(runId)) return runId;
      throw err;
    }
  };
}
