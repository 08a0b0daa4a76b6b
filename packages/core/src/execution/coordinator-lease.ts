import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { RunLeaseHeldError } from '../errors/index.js';
import type { Instance } from '../instance/instance.js';
import type { Fence, LeaseOwner, RunLease } from '../storage/run-lease.js';
import type { RunStorage } from '../storage/run-storage.js';

/** How often a coordinator beats (heartbeat and lease renewal) at most. `STEPWISE_HEARTBEAT_MS` overrides it. */
export const COORDINATOR_HEARTBEAT_MS = Number(process.env.STEPWISE_HEARTBEAT_MS) || 5_000;

/**
 * A coordinator that stopped updating its run for this long is presumed gone: the run is orphaned, and its lease
 * expires (another coordinator may take it without `--force`). `STEPWISE_HEARTBEAT_TIMEOUT_MS` overrides it, and
 * so does `runMonitoring.heartbeatTimeoutMs` of stepwise.yaml for an instance's runs.
 */
export const COORDINATOR_HEARTBEAT_TIMEOUT_MS = Number(process.env.STEPWISE_HEARTBEAT_TIMEOUT_MS) || 30_000;

/**
 * A coordinator's clocks on an instance: its lease lasts the heartbeat timeout run monitoring applies (so that the
 * daemon's monitor takes a run over exactly when it finds it silent), and it beats at least three times per lease.
 */
export function coordinatorClocks(instance: Instance | undefined): { heartbeatMs: number; leaseTtlMs: number } {
  // The section belongs to @stepwise/daemon; read loosely here, core does not depend on it.
  const monitoring = instance?.config?.sections?.runMonitoring as { heartbeatTimeoutMs?: number } | undefined;
  const leaseTtlMs = monitoring?.heartbeatTimeoutMs ?? COORDINATOR_HEARTBEAT_TIMEOUT_MS;
  return { leaseTtlMs, heartbeatMs: Math.max(1, Math.min(COORDINATOR_HEARTBEAT_MS, Math.floor(leaseTtlMs / 3))) };
}

export interface TakeLeaseOptions {
  /** Take it even if its holder is alive. */
  force?: boolean;
  /** Default Date.now. */
  now?: () => number;
}

/** The lease this process holds on a run: its epoch is the fence of every write it makes for the run. */
export interface HeldLease {
  readonly lease: RunLease;
  readonly fence: Fence;
  readonly ttlMs: number;
  /** How often to renew it. */
  readonly heartbeatMs: number;
  readonly now: () => number;
}

/** This process as a lease owner: a new random id each time (two coordinators in one process are two owners). */
export function leaseOwner(): LeaseOwner {
  return { id: randomUUID(), host: hostname(), pid: process.pid };
}

/** Takes the coordinator lease of a run, or throws RunLeaseHeldError naming its live holder. */
export async function takeCoordinatorLease(
  instance: Instance,
  runId: string,
  options: TakeLeaseOptions = {},
): Promise<HeldLease> {
  const now = options.now ?? Date.now;
  const { leaseTtlMs: ttlMs, heartbeatMs } = coordinatorClocks(instance);
  const at = now();
  const answer = await instance.storage.takeLease(runId, { owner: leaseOwner(), ttlMs, now: at, force: options.force });
  if (!answer.taken) {
    const { owner, renewedAt } = answer.holder;
    throw new RunLeaseHeldError(runId, {
      host: owner.host,
      pid: owner.pid,
      heartbeatAgeMs: Math.max(0, at - renewedAt),
    });
  }
  return { lease: answer.lease, fence: { epoch: answer.lease.epoch }, ttlMs, heartbeatMs, now };
}

/** Renews a held lease; false when another coordinator took it since (this one is superseded). */
export function renewCoordinatorLease(storage: RunStorage, held: HeldLease): Promise<boolean> {
  return storage.renewLease(held.lease.runId, held.lease.epoch, held.now(), held.ttlMs);
}
