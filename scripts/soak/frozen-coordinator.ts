/**
 * The invariant of the coordinator freeze (fault-injector.ts): a coordinator frozen while a successor took its run,
 * then thawed, finds itself superseded (its executePipeline resolves SUPERSEDED), records one ENGINE_EVENT saying so,
 * and exits. That it wrote nothing else that counted is what 'run-succeeded' and 'steps-succeeded-once' check.
 */
import type { Instance } from '@stepwise/core';
import type { FrozenCoordinator } from './coordinator-process.js';
import type { Invariants } from './invariants.js';

export const FROZEN_COORDINATOR_INVARIANT = 'frozen-coordinator-fenced';

export function defineFrozenCoordinatorInvariant(invariants: Invariants): void {
  invariants.define(
    FROZEN_COORDINATOR_INVARIANT,
    'a coordinator frozen while its run was resumed elsewhere, once thawed, reports SUPERSEDED, records one coordinator_superseded ENGINE_EVENT with its pid, and exits',
  );
}

export async function checkFrozenCoordinators(
  instance: Instance,
  frozen: readonly FrozenCoordinator[],
  invariants: Invariants,
): Promise<void> {
  for (const f of frozen) {
    const events = await instance.storage.getEvents(f.runId, { types: ['ENGINE_EVENT'] });
    const mine = events.filter(
      (e) => e.type === 'ENGINE_EVENT' && e.data.kind === 'coordinator_superseded' && e.data.details?.pid === f.pid,
    );
    invariants.check(
      FROZEN_COORDINATOR_INVARIANT,
      f.reported === 'SUPERSEDED' && f.exitCode !== undefined && mine.length === 1,
      () =>
        `coordinator pid ${f.pid} of run ${f.runId}: reported ${f.reported ?? 'nothing'}, exit ${f.exitCode ?? 'none within 30 s'}, ${mine.length} coordinator_superseded events`,
    );
  }
}
