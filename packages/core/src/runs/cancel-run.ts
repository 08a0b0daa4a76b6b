import { setTimeout as sleep } from 'node:timers/promises';
import type { Instance } from '../instance/instance.js';
import { endRunWithoutCoordinator } from '../queue/end-run.js';
import { IN_PROGRESS_RUN_STATUSES, type RunStatus, TERMINAL_RUN_STATUSES } from '../storage/run-storage.js';
import { requireRun } from './read-run.js';

const NOT_ENDED: readonly RunStatus[] = ['QUEUED', ...IN_PROGRESS_RUN_STATUSES];

export interface CancelRunOptions {
  /** Mark the run CANCELED at once, for a run whose coordinator is gone. Default false. */
  force?: boolean;
  /** Clock of the recorded end. Default `Date.now`. */
  now?: () => number;
}

/**
 * What {@link cancelRun} did: `ended` (the run had already ended: nothing to cancel), `canceled` (recorded as
 * CANCELED here: it was QUEUED or STARTING, or `force`), `requested` (marked CANCELING: its coordinator polls storage, aborts
 * its steps and records the end).
 */
export interface CancelRunResult {
  action: 'ended' | 'canceled' | 'requested';
  /** The run's status after the call. */
  status: RunStatus;
}

/** Cancels a stored run (`stepwise cancel`); an unknown run is a NotFoundError. */
export async function cancelRun(
  instance: Instance,
  runId: string,
  options: CancelRunOptions = {},
): Promise<CancelRunResult> {
  // Conditional updates throughout: a daemon dequeuing or a coordinator ending the run at this moment either
  // decides first (and the cancel follows the new status) or sees the run canceled.
  for (let tries = 0; tries < 3; tries++) {
    const run = await requireRun(instance, runId);
    if (TERMINAL_RUN_STATUSES.includes(run.status)) return { action: 'ended', status: run.status };
    if (options.force || run.status === 'QUEUED' || run.status === 'STARTING') {
      // Nobody executes it (queued, being launched, or its coordinator died): record the end here.
      const reason = options.force ? 'canceled with --force' : 'canceled before it started';
      const ended = await endRunWithoutCoordinator(instance, runId, {
        from: options.force ? NOT_ENDED : ['QUEUED', 'STARTING'],
        outcome: 'CANCELED',
        kind: 'canceled',
        message: reason,
        ...(options.now ? { now: options.now } : {}),
      });
      if (ended) return { action: 'canceled', status: 'CANCELED' };
      continue;
    }
    if (run.status === 'CANCELING') return { action: 'requested', status: 'CANCELING' };
    if (await instance.storage.transitionRun(runId, { status: ['STARTED'] }, { status: 'CANCELING' })) {
      return { action: 'requested', status: 'CANCELING' };
    }
  }
  const run = await requireRun(instance, runId);
  return { action: TERMINAL_RUN_STATUSES.includes(run.status) ? 'ended' : 'requested', status: run.status };
}

/** The run's status once it has ended, or undefined when it has not within `timeoutMs`. Polls storage. */
export async function waitForRunEnd(
  instance: Instance,
  runId: string,
  options: { timeoutMs: number; pollMs?: number; now?: () => number },
): Promise<RunStatus | undefined> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  for (;;) {
    const run = await instance.storage.getRunStatus(runId);
    if (run && TERMINAL_RUN_STATUSES.includes(run.status)) return run.status;
    if (now() >= deadline) return undefined;
    await sleep(options.pollMs ?? 250);
  }
}
