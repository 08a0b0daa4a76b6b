/**
 * The coordinator lease of a run: one coordinator drives a run at a time. A coordinator takes the lease when it
 * starts or resumes the run, renews it with its heartbeat, and every write it makes for the run carries the lease's
 * epoch (a {@link Fence}); storage refuses a write whose epoch is older than the lease's, so a coordinator that was
 * only slow (a GC pause, a frozen VM, a partition) and met its successor changes nothing.
 */

/** Who holds a lease: a process, and a random id that tells two coordinators of one process apart. */
export interface LeaseOwner {
  id: string;
  host: string;
  pid: number;
}

export interface RunLease {
  runId: string;
  owner: LeaseOwner;
  /** Incremented on every take: the newest coordinator has the largest. */
  epoch: number;
  /** Epoch ms of the last take or renewal. */
  renewedAt: number;
  /** Epoch ms after which another coordinator may take the lease without force. */
  expiresAt: number;
}

export interface LeaseRequest {
  owner: LeaseOwner;
  /** How long the lease lasts without a renewal. */
  ttlMs: number;
  /** Epoch ms now, by the caller's clock. */
  now: number;
  /** Take it even if its holder is alive (`stepwise resume --force`). */
  force?: boolean;
}

/** The answer to a take: the new lease, or the live one that kept it. */
export type LeaseAnswer = { taken: true; lease: RunLease } | { taken: false; holder: RunLease };

/** The epoch a coordinator's writes carry: refused when the run's lease has a newer one. */
export interface Fence {
  epoch: number;
}

/** The lease a take leaves, given the stored one: the one decision every storage makes under its write lock. */
export function decideLease(runId: string, stored: RunLease | undefined, request: LeaseRequest): LeaseAnswer {
  if (stored && !request.force && stored.expiresAt > request.now) return { taken: false, holder: stored };
  return {
    taken: true,
    lease: {
      runId,
      owner: request.owner,
      epoch: (stored?.epoch ?? 0) + 1,
      renewedAt: request.now,
      expiresAt: request.now + request.ttlMs,
    },
  };
}

/** Whether a write carrying `fence` may apply, given the run's stored lease epoch. */
export function fenceHolds(fence: Fence | undefined, storedEpoch: number | undefined): boolean {
  return fence === undefined || storedEpoch === undefined || storedEpoch <= fence.epoch;
}
