import { type Instance, RUN_STATUSES, safeRunId, submitRun, TERMINAL_RUN_STATUSES } from '@stepwise/core';
import { type LaunchTick, SCHEDULE_TAG } from './scheduler-pass.js';

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

const UNFINISHED = RUN_STATUSES.filter((s) => !TERMINAL_RUN_STATUSES.includes(s));

/** The schedule's runs that have not finished (QUEUED counts: it will run). */
export function activeScheduleRuns(instance: Instance): (scheduleName: string) => Promise<string[]> {
  return async (scheduleName) =>
    (await instance.storage.listRuns({ status: UNFINISHED, tags: { [SCHEDULE_TAG]: scheduleName }, limit: 1 })).map(
      (r) => r.runId,
    );
}
