import {
  endRunWithoutCoordinator,
  type Instance,
  MalformedRunError,
  type RunRecord,
  StepwiseError,
  serializeError,
} from '@stepwise/core';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { chooseRunsToDequeue, type QueueLimits } from './dequeue-policy.js';
import type { RunLauncher } from './launchers/run-launcher.js';
import { recordDaemonEvent } from './run-events.js';

export interface RunQueueContext {
  instance: Instance;
  daemonId: string;
  limits: QueueLimits;
  launcher: RunLauncher;
  clock: Clock;
  logger: Logger;
}

/**
 * One pass of the run queue: claims the runs the policy picks (QUEUED → STARTING, atomically in storage) and
 * launches each. Returns how many were dequeued.
 */
export async function dequeuePass(context: RunQueueContext): Promise<number> {
  const { instance, daemonId, limits, clock } = context;
  const runIds = await instance.storage.dequeueRuns(
    (queued, inProgress) => chooseRunsToDequeue(queued, inProgress, limits),
    { owner: daemonId, at: clock.now() },
  );
  for (const runId of runIds) {
    try {
      await launchClaimed(context, runId, 'dequeued');
    } catch (error) {
      // Storage failed mid-launch: hand the run back to the queue rather than leave it claimed by a live daemon.
      context.logger.error({ runId, err: error }, 'launching a dequeued run failed; putting it back in the queue');
      await instance.storage
        .transitionRun(runId, { status: ['STARTING'], claimOwner: daemonId }, { status: 'QUEUED' })
        .catch(() => {});
    }
  }
  return runIds.length;
}

/** Reads a claimed STARTING run and launches it; a run that cannot be read or launched is failed with the cause. */
export async function launchClaimed(
  context: RunQueueContext,
  runId: string,
  how: 'dequeued' | 'relaunched',
  message?: string,
): Promise<void> {
  const { instance, daemonId, launcher, logger } = context;
  const fail = async (kind: 'malformed_run' | 'launch_failed', error: unknown) => {
    // A malformed run's message already says so and names the run.
    const text =
      kind === 'malformed_run'
        ? (error as Error).message
        : `the ${launcher.kind} launcher failed: ${(error as Error).message}`;
    logger.error({ runId, err: error }, text);
    await endRunWithoutCoordinator(instance, runId, {
      from: ['STARTING'],
      outcome: 'FAILURE',
      kind,
      message: text,
      details: { error: serializeError(error), daemonId },
    });
  };
  let run: RunRecord | undefined;
  try {
    run = await instance.storage.getRun(runId);
  } catch (error) {
    // A hand-edited record must not stop the queue: that run fails, the others go on.
    if (error instanceof MalformedRunError || (StepwiseError.is(error) && error.code === 'RUN_MALFORMED')) {
      return fail('malformed_run', error);
    }
    throw error;
  }
  if (run?.status !== 'STARTING') return;
  await recordDaemonEvent(instance, runId, how, message ?? `dequeued by daemon ${daemonId}`, { daemonId });
  let launched: Record<string, string | number>;
  try {
    launched = await launcher.launch(run);
  } catch (error) {
    return fail('launch_failed', error);
  }
  await recordDaemonEvent(instance, runId, 'launched', `launched by the ${launcher.kind} launcher`, {
    daemonId,
    launcher: launcher.kind,
    ...launched,
  });
}
