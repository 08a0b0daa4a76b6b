import {
  endRunWithoutCoordinator,
  IN_PROGRESS_RUN_STATUSES,
  MAX_RUNTIME_TAG,
  type MalformedRunError,
  type RunRecord,
  serializeError,
} from '@stepwise/core';
import type { DaemonConfig, RunMonitoringConfig } from './config.js';
import { recordDaemonEvent } from './run-events.js';
import { launchClaimed, type RunQueueContext } from './run-queue.js';

export interface MonitorContext extends RunQueueContext {
  monitoring: RunMonitoringConfig;
  daemonHeartbeat: DaemonConfig;
  /** A run ended here: wake the run queue. */
  onSlotFreed(): void;
}

/** Runs in progress looked at per pass, at most. */
const MAX_RUNS_PER_PASS = 10_000;

/**
 * One pass of run monitoring over the runs in progress. Each decision is a conditional update in storage, so of
 * several daemons exactly one takes it:
 * - STARTING past `startTimeoutMs` → failed; STARTING claimed by a daemon that has stopped beating → launched
 *   again (only one coordinator can start a run, so a launch that did happen is not doubled);
 * - STARTED past its `stepwise/max-runtime-ms` tag → CANCELING;
 * - STARTED whose coordinator has not beaten for `heartbeatTimeoutMs` → resumed through the launcher, up to
 *   `maxResumeAttempts` times, then failed; CANCELING without a coordinator → CANCELED.
 */
export async function monitorPass(context: MonitorContext): Promise<void> {
  const { instance, clock } = context;
  const runs = await listInProgress(context);
  const now = clock.now();
  const beats = await instance.storage.listDaemonHeartbeats();
  const live = new Set(
    beats.filter((d) => now - d.updatedAt <= context.daemonHeartbeat.heartbeatTimeoutMs).map((d) => d.daemonId),
  );
  for (const run of runs) {
    try {
      if (run.status === 'STARTING') await checkStarting(context, run, now, live);
      else await checkRunning(context, run, now);
    } catch (error) {
      context.logger.error({ runId: run.runId, err: error }, 'monitoring the run failed');
    }
  }
}

/**
 * The runs in progress. A hand-edited one that does not read back (bad JSON, a status Stepwise does not know) would
 * never end: it is failed with the cause (ENGINE_EVENT `malformed_run`), and the others are watched as usual.
 */
async function listInProgress(context: MonitorContext): Promise<RunRecord[]> {
  const { instance } = context;
  const malformed: MalformedRunError[] = [];
  const onMalformed = (error: MalformedRunError) => void malformed.push(error);
  const runs = await instance.storage.listRuns(
    { status: [...IN_PROGRESS_RUN_STATUSES], limit: MAX_RUNS_PER_PASS },
    { onMalformed },
  );
  // An unknown status is in no list the daemon reads: found through its own (partial, normally empty) index.
  const unknown: MalformedRunError[] = [];
  await instance.storage.listRuns({ unknownStatus: true, limit: 100 }, { onMalformed: (e) => void unknown.push(e) });
  for (const [error, from] of [
    ...malformed.map((e) => [e, IN_PROGRESS_RUN_STATUSES] as const),
    ...unknown.map((e) => [e, undefined] as const),
  ]) {
    if (!from && error.updatedAt === undefined) continue;
    const ended = await endRunWithoutCoordinator(instance, error.runId, {
      ...(from ? { from } : { updatedAt: error.updatedAt as number }),
      outcome: 'FAILURE',
      kind: 'malformed_run',
      message: error.message,
      details: { daemonId: context.daemonId },
    }).catch((e: unknown) => {
      context.logger.error({ runId: error.runId, err: e }, 'failing a malformed run failed');
      return false;
    });
    if (ended) {
      context.logger.error({ runId: error.runId, problem: error.problem }, 'failed a malformed stored run');
      context.onSlotFreed();
    }
  }
  return runs;
}

async function checkStarting(context: MonitorContext, run: RunRecord, now: number, live: Set<string>): Promise<void> {
  const { instance, monitoring, daemonId } = context;
  const since = run.claim?.at ?? run.updatedAt;
  if (now - since > monitoring.startTimeoutMs) {
    const message = `run did not start within runMonitoring.startTimeoutMs (${monitoring.startTimeoutMs} ms) of being dequeued`;
    if (
      await endRunWithoutCoordinator(instance, run.runId, {
        from: ['STARTING'],
        outcome: 'FAILURE',
        kind: 'start_timeout',
        message,
      })
    ) {
      context.onSlotFreed();
    }
    return;
  }
  const owner = run.claim?.owner;
  if (owner === undefined || owner === daemonId || live.has(owner)) return;
  // The daemon that dequeued it is gone, maybe before it launched the run: take the claim over and launch again.
  const claimed = await instance.storage.transitionRun(
    run.runId,
    { status: ['STARTING'], claimOwner: owner },
    { claim: { owner: daemonId, at: since } },
  );
  if (claimed) {
    await launchClaimed(
      context,
      run.runId,
      'relaunched',
      `launched again by daemon ${daemonId}: daemon ${owner} stopped before the run started`,
    );
  }
}

/** A beat this long after the resume claim comes from the resumed coordinator, not from the claim's own write. */
const CLAIM_WRITE_SLACK_MS = 1_000;

/**
 * A coordinator launched by a resume has had no time to beat yet (a queued job waits for a worker, a process loads
 * the code): give it `startTimeoutMs`, as a first launch gets, before taking the run for lost again.
 */
function resumedCoordinatorStarting(run: RunRecord, now: number, monitoring: RunMonitoringConfig): boolean {
  if (!run.claim || !run.resumeAttempts) return false;
  const beatSinceClaim = run.updatedAt - run.claim.at > CLAIM_WRITE_SLACK_MS;
  return !beatSinceClaim && now - run.claim.at <= monitoring.startTimeoutMs;
}

async function checkRunning(context: MonitorContext, run: RunRecord, now: number): Promise<void> {
  const { instance, monitoring, daemonId, launcher } = context;
  const maxRuntime = Number(run.tags[MAX_RUNTIME_TAG]);
  if (run.status === 'STARTED' && maxRuntime > 0 && run.startedAt !== undefined && now - run.startedAt > maxRuntime) {
    if (await instance.storage.transitionRun(run.runId, { status: ['STARTED'] }, { status: 'CANCELING' })) {
      await recordDaemonEvent(
        instance,
        run.runId,
        'max_runtime_exceeded',
        `canceled: ran longer than its ${MAX_RUNTIME_TAG} tag (${maxRuntime} ms)`,
        { maxRuntimeMs: maxRuntime, daemonId },
      );
    }
    return;
  }
  const silentMs = now - run.updatedAt;
  if (silentMs <= monitoring.heartbeatTimeoutMs) return;
  if (resumedCoordinatorStarting(run, now, monitoring)) return;
  const lost = `its coordinator has not beaten for ${silentMs} ms (runMonitoring.heartbeatTimeoutMs ${monitoring.heartbeatTimeoutMs})`;
  if (run.status === 'CANCELING') {
    await endRunWithoutCoordinator(instance, run.runId, {
      from: ['CANCELING'],
      outcome: 'CANCELED',
      kind: 'coordinator_lost',
      message: `canceled: ${lost}`,
    });
    context.onSlotFreed();
    return;
  }
  const attempts = run.resumeAttempts ?? 0;
  if (attempts >= monitoring.maxResumeAttempts) {
    const message = `failed: ${lost}, and it was resumed ${attempts} time(s) already (runMonitoring.maxResumeAttempts ${monitoring.maxResumeAttempts})`;
    if (
      await endRunWithoutCoordinator(instance, run.runId, {
        from: ['STARTED'],
        outcome: 'FAILURE',
        kind: 'coordinator_lost',
        message,
      })
    ) {
      context.onSlotFreed();
    }
    return;
  }
  // Claimed against the updatedAt read: a beat in between, or another daemon's claim, changes it.
  const claimed = await instance.storage.transitionRun(
    run.runId,
    { status: ['STARTED'], updatedAt: run.updatedAt },
    { resumeAttempts: attempts + 1, claim: { owner: daemonId, at: now } },
  );
  if (!claimed) return;
  await recordDaemonEvent(
    instance,
    run.runId,
    'resumed_by_monitor',
    `resumed by daemon ${daemonId} (attempt ${attempts + 1} of ${monitoring.maxResumeAttempts}): ${lost}`,
    { daemonId, attempt: attempts + 1, launcher: launcher.kind },
  );
  let launched: Record<string, string | number>;
  try {
    launched = await launcher.resume(run);
  } catch (error) {
    const message = `failed: resuming it through the ${launcher.kind} launcher failed: ${(error as Error).message}`;
    await endRunWithoutCoordinator(instance, run.runId, {
      from: ['STARTED'],
      outcome: 'FAILURE',
      kind: 'coordinator_lost',
      message,
      details: { error: serializeError(error) },
    });
    context.onSlotFreed();
    return;
  }
  await recordDaemonEvent(
    instance,
    run.runId,
    'launched',
    `resuming coordinator launched by the ${launcher.kind} launcher`,
    {
      daemonId,
      launcher: launcher.kind,
      ...launched,
    },
  );
}
