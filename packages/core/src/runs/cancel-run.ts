import { setTimeout as sleep } from 'node:timers/promises';
import { makeEvent } from '../events/events.js';
import type { Instance } from '../instance/instance.js';
import { type RunStatus, TERMINAL_RUN_STATUSES } from '../storage/run-storage.js';
import { requireRun } from './read-run.js';

export interface CancelRunOptions {
  /** Mark the run CANCELED at once, for a run whose coordinator is gone. Default false. */
  force?: boolean;
  /** Clock of the recorded end. Default `Date.now`. */
  now?: () => number;
}

/**
 * What {@link cancelRun} did: `ended` (the run had already ended: nothing to cancel), `canceled` (recorded as
 * CANCELED here: it was queued, or `force`), `requested` (marked CANCELING: its coordinator polls storage, aborts
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
  const run = await requireRun(instance, runId);
  if (TERMINAL_RUN_STATUSES.includes(run.status)) return { action: 'ended', status: run.status };
  if (options.force || run.status === 'QUEUED') {
    // Nobody executes it (queued, or its coordinator died): record the end here.
    const now = (options.now ?? Date.now)();
    const reason = options.force ? 'canceled with --force' : 'canceled before it started';
    await instance.storage.appendEvents([
      makeEvent('RUN_CANCELED', runId, { durationMs: now - (run.startedAt ?? now), reason }, { message: reason }),
    ]);
    await instance.storage.updateRun(runId, { status: 'CANCELED', endedAt: now });
    return { action: 'canceled', status: 'CANCELED' };
  }
  if (run.status !== 'CANCELING') await instance.storage.updateRun(runId, { status: 'CANCELING' });
  return { action: 'requested', status: 'CANCELING' };
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
