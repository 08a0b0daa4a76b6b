import {
  type LoadedDefinitions,
  type RunStorage,
  type ScheduleDefinition,
  type ScheduleState,
  type ScheduleStore,
  StorageError,
  UsageError,
} from '@stepwise/core';

/** The storage's scheduler tables, or a clear error for a storage plugin that has none. */
export function scheduleStore(storage: RunStorage): ScheduleStore {
  if (!storage.schedules) {
    throw new StorageError(
      "this instance's storage keeps no schedules: use storage.sqlite or storage.postgres in stepwise.yaml",
    );
  }
  return storage.schedules;
}

/** The schedule named `name` in the file, or a usage error listing the ones it has. */
export function findSchedule(defs: LoadedDefinitions, name: string): ScheduleDefinition {
  const found = defs.schedules.get(name);
  if (found) return found;
  const known = [...defs.schedules.keys()];
  throw new UsageError(
    `no schedule '${name}' in '${defs.source}'` +
      (known.length ? `; it has ${known.map((k) => `'${k}'`).join(', ')}` : '; it exports no schedules'),
  );
}

/**
 * The schedule's state as the scheduler reads it: the stored row, or a new one in the definition's default
 * status. A row written for another cron or timezone keeps its status, but its cursor no longer applies.
 */
export function effectiveState(def: ScheduleDefinition, row: ScheduleState | undefined, now: number): ScheduleState {
  if (!row)
    return {
      name: def.name,
      status: def.defaultStatus,
      cursor: null,
      definitionHash: def.definitionHash,
      updatedAt: now,
    };
  if (row.definitionHash !== def.definitionHash) return { ...row, cursor: null, definitionHash: def.definitionHash };
  return row;
}

/**
 * Starts or stops a schedule. Starting sets the cursor to now, so the time it was stopped is not replayed
 * (backfill is the explicit way to run it).
 */
export async function setScheduleStatus(
  store: ScheduleStore,
  def: ScheduleDefinition,
  status: 'running' | 'stopped',
  now: number,
): Promise<ScheduleState> {
  const state = effectiveState(def, await store.getSchedule(def.name), now);
  const next = {
    ...state,
    status,
    updatedAt: now,
    cursor: status === 'running' && state.status !== 'running' ? now : state.cursor,
  };
  await store.putSchedule(next);
  return next;
}
