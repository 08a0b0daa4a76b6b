import { type QueueRunView, runPriority, type TagConcurrencyLimit } from '@stepwise/core';

/** The run queue's limits (`runCoordinator.queued` in stepwise.yaml). */
export interface QueueLimits {
  /** Runs STARTING, STARTED or CANCELING at once. */
  maxConcurrentRuns: number;
  tagConcurrencyLimits: readonly TagConcurrencyLimit[];
}

/** The bucket a run counts in for a tag limit, or undefined when the limit does not apply to it. */
function bucketOf(limit: TagConcurrencyLimit, tags: Readonly<Record<string, string>>): string | undefined {
  const value = tags[limit.key];
  if (value === undefined) return undefined;
  if (limit.value !== undefined) return value === limit.value ? '' : undefined;
  return limit.perUniqueValue ? value : '';
}

/**
 * Which queued runs to dequeue now: priority (tag `stepwise/priority`) higher first, then submission order,
 * while fewer than `maxConcurrentRuns` are in progress and no tag limit is full. A run a tag limit holds back is
 * skipped, and the runs behind it are still considered. Pure: the storage runs it inside its dequeue lock.
 */
export function chooseRunsToDequeue(
  queued: readonly QueueRunView[],
  inProgress: readonly QueueRunView[],
  limits: QueueLimits,
): string[] {
  let slots = limits.maxConcurrentRuns - inProgress.length;
  if (slots <= 0 || queued.length === 0) return [];
  const counts = limits.tagConcurrencyLimits.map(() => new Map<string, number>());
  const count = (run: QueueRunView) =>
    limits.tagConcurrencyLimits.forEach((limit, i) => {
      const bucket = bucketOf(limit, run.tags);
      const map = counts[i] as Map<string, number>;
      if (bucket !== undefined) map.set(bucket, (map.get(bucket) ?? 0) + 1);
    });
  for (const run of inProgress) count(run);
  const ordered = queued
    .map((run) => ({ run, priority: runPriority(run.tags) }))
    .sort((a, b) => b.priority - a.priority || a.run.order - b.run.order);
  const picked: string[] = [];
  for (const { run } of ordered) {
    const blocked = limits.tagConcurrencyLimits.some((limit, i) => {
      const bucket = bucketOf(limit, run.tags);
      return bucket !== undefined && ((counts[i] as Map<string, number>).get(bucket) ?? 0) >= limit.limit;
    });
    if (blocked) continue;
    picked.push(run.runId);
    count(run);
    if (--slots === 0) break;
  }
  return picked;
}
