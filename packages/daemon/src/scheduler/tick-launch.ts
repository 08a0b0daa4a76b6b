import {
  type Instance,
  type LoadedDefinitions,
  RUN_STATUSES,
  type RunRecord,
  safeRunId,
  submitRun,
  TERMINAL_RUN_STATUSES,
} from '@stepwise/core';
import type { Logger } from 'pino';
import type { RunLauncher } from '../launchers/run-launcher.js';
import { launchClaimed } from '../run-queue.js';
import { faultPoint } from './fault-points.js';
import { type LaunchTick, SCHEDULE_TAG } from './scheduler-pass.js';

/**
 * Stores a tick's run QUEUED (or finds it). Its id is made from the run key, so a tick taken over after its claimer
 * died finds the run that claimer already stored instead of making a second one.
 */
async function storeTickRun(
  instance: Instance,
  definitions: LoadedDefinitions,
  launch: Parameters<LaunchTick>[0],
): Promise<Pick<RunRecord, 'runId' | 'status' | 'claim'>> {
  const { def, runConfig, tags, runKey } = launch;
  const runId = safeRunId(runKey);
  const stored = async () => {
    const run = await instance.storage.getRun(runId);
    return run && { runId, status: run.status, ...(run.claim && { claim: run.claim }) };
  };
  if (await instance.storage.getRunStatus(runId)) {
    const found = await stored();
    if (found) return found;
  }
  const file = definitions.file;
  try {
    await submitRun(instance, { file, definitions, pipeline: def.pipeline.name, runConfig, tags, runId });
  } catch (err) {
    // Another scheduler stored it between our read and our write: the unique run id made it one run.
    const found = await stored();
    if (!found) throw err;
    return found;
  }
  faultPoint('run-created');
  return { runId, status: 'QUEUED' };
}

/** With `runCoordinator.queued` set: the tick's run is stored QUEUED and the daemon's run queue launches it. */
export function queuedTickLauncher(instance: Instance, definitions: LoadedDefinitions): LaunchTick {
  return async (launch) => (await storeTickRun(instance, definitions, launch)).runId;
}

export interface DirectLaunchContext {
  instance: Instance;
  definitions: LoadedDefinitions;
  /** The launcher of stepwise.yaml's `runLauncher`, made when first needed. */
  launcher: () => Promise<RunLauncher>;
  /** This scheduler, recorded as the claimer of the run it launches. */
  owner: string;
  now: () => number;
  logger: Logger;
}

/**
 * Without `runCoordinator.queued`: the run is launched at once. It is stored QUEUED, then claimed QUEUED → STARTING
 * (a daemon's run queue may take it first, which is as good) and started by the launcher. A tick taken over
 * (attempt > 1) whose run is still STARTING under its dead claimer's name launches it again: only one coordinator
 * can start a run, so a launch that did happen is not doubled.
 */
export function directTickLauncher(ctx: DirectLaunchContext): LaunchTick {
  return async (launch) => {
    const { instance, owner } = ctx;
    const run = await storeTickRun(instance, ctx.definitions, launch);
    const claim = { owner, at: ctx.now() };
    const claimed =
      (run.status === 'QUEUED' &&
        (await instance.storage.transitionRun(run.runId, { status: ['QUEUED'] }, { status: 'STARTING', claim }))) ||
      (run.status === 'STARTING' &&
        launch.tick.attempt > 1 &&
        run.claim?.owner !== undefined &&
        run.claim.owner !== owner &&
        (await instance.storage.transitionRun(
          run.runId,
          { status: ['STARTING'], claimOwner: run.claim.owner },
          { claim },
        )));
    if (claimed) {
      const context = {
        instance,
        daemonId: owner,
        limits: { maxConcurrentRuns: Number.POSITIVE_INFINITY, tagConcurrencyLimits: [] },
        launcher: await ctx.launcher(),
        clock: { now: ctx.now, sleep: async () => {} },
        logger: ctx.logger,
      };
      await launchClaimed(
        context,
        run.runId,
        run.status === 'QUEUED' ? 'dequeued' : 'relaunched',
        `launched at once by scheduler ${owner} (no runCoordinator.queued in stepwise.yaml)`,
      );
    }
    return run.runId;
  };
}

const UNFINISHED = RUN_STATUSES.filter((s) => !TERMINAL_RUN_STATUSES.includes(s));

/** The schedule's runs that have not finished (QUEUED counts: it will run), oldest first. */
export function activeScheduleRuns(instance: Instance): (scheduleName: string) => Promise<string[]> {
  return async (scheduleName) =>
    (await instance.storage.listRuns({ status: UNFINISHED, tags: { [SCHEDULE_TAG]: scheduleName }, limit: 100 }))
      .map((r) => r.runId)
      .reverse();
}
