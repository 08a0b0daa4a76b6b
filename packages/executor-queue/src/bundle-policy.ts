/** Most steps of a bundle (its lead and peers) when the backlog decides. */
export const MAX_BACKLOG_BUNDLE = 16;

/** Most steps of a bundle of quick ops, and about how long such a bundle should take, in ms. */
export const MAX_QUICK_BUNDLE = 64;
export const QUICK_BUNDLE_MS = 16;

/** A ready step of one queue's flush, as the policy sees it. */
export interface BundleCandidate {
  op: string;
  /** May share a job: a first attempt, not delayed, without a chain of its own and without a priority. */
  eligible: boolean;
}

export interface BundleContext {
  /** Live worker slots serving the queue. */
  slots: number;
  /** This run's steps enqueued on the queue and not started yet, the candidates included. */
  backlog: number;
  /** The op's mean duration in ms when its steps are known to be quick (OpDurations.quickMeanMs), else undefined. */
  quickMeanMs: (op: string) => number | undefined;
}

/**
 * Which ready steps of one queue share jobs: each bundle lists indexes into `candidates`, its lead first and then
 * its peers, at least two steps; a candidate in no bundle gets a job of its own. Steps share a job, so that
 * BullMQ's per-job cost (add, fetch, lock, finish, and the coordinator's memory for all of it) is paid once per
 * bundle, in two cases:
 *  - the queue's backlog is far larger than its worker slots: the steps would wait for a slot anyway, and bundles
 *    of a quarter of a slot's share of the backlog still keep every slot busy to the end. The backlog, not this
 *    flush alone: in a wide run's steady state each flush holds the few steps that the last completions let in,
 *    behind thousands already waiting.
 *  - the steps' ops are known to be quick: BullMQ's cost per job is larger than such a step, so they go in bundles
 *    that take about QUICK_BUNDLE_MS by the slowest of their ops' means (at most MAX_QUICK_BUNDLE steps); a worker
 *    runs a bundle's steps one after another and sends their events in one pipeline. Slots do not matter here,
 *    round trips and CPU do (bench/RESULTS.md has the figures).
 */
export function planBundles(candidates: readonly BundleCandidate[], context: BundleContext): number[][] {
  const { slots, backlog } = context;
  if (slots === 0 || candidates.length < 2) return [];
  const deep = backlog >= 8 * slots ? Math.min(MAX_BACKLOG_BUNDLE, Math.floor(backlog / (4 * slots))) : 1;
  const quick: number[] = [];
  const other: number[] = [];
  // The slowest quick op of the flush sizes its bundles.
  let slowest = 0;
  for (const [i, candidate] of candidates.entries()) {
    if (!candidate.eligible) continue;
    const mean = context.quickMeanMs(candidate.op);
    if (mean !== undefined) {
      quick.push(i);
      slowest = Math.max(slowest, mean, 0.01);
    } else other.push(i);
  }
  const quickSize = Math.min(MAX_QUICK_BUNDLE, Math.max(deep, Math.floor(QUICK_BUNDLE_MS / slowest)));
  const bundles: number[][] = [];
  for (const [group, size] of [
    [quick, quickSize],
    [other, deep],
  ] as const) {
    if (size < 2) continue;
    for (let i = 0; i < group.length; i += size) {
      const bundle = group.slice(i, i + size);
      if (bundle.length >= 2) bundles.push(bundle);
    }
  }
  return bundles;
}
