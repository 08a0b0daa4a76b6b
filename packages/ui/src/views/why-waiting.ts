import {
  IN_PROGRESS_RUN_STATUSES,
  type Instance,
  type RunRecord,
  runPriority,
  type StoredEvent,
  type TagConcurrencyLimit,
} from '@stepwise/core';
import type { RunLimit, StepRow, WaitingResponse, WaitReason } from '../api-types.js';
import type { WorkerMonitor } from './worker-monitor.js';

const NOT_STARTED = new Set(['PENDING', 'READY', 'DISPATCHED', 'UP_FOR_RETRY']);

function tagLimitHit(run: RunRecord, limit: TagConcurrencyLimit, inProgress: readonly RunRecord[]): RunLimit | null {
  const value = run.tags[limit.key];
  if (value === undefined || (limit.value !== undefined && limit.value !== value)) return null;
  const same = inProgress.filter((r) => r.tags[limit.key] === value).length;
  if (same < limit.limit) return null;
  return {
    kind: 'tag',
    key: limit.key,
    value: limit.perUniqueValue || limit.value ? value : null,
    limit: limit.limit,
    inProgress: same,
  };
}

/** Why a QUEUED run has not started: its place in the run queue and the limit holding it back, if one does. */
async function queuedReason(instance: Instance, run: RunRecord): Promise<WaitReason> {
  const queued = await instance.storage.listRuns({ status: ['QUEUED'], limit: 10_000 });
  // The daemon's order: priority (higher first), then submission.
  const order = [...queued].sort((a, b) => runPriority(b.tags) - runPriority(a.tags) || a.createdAt - b.createdAt);
  const position = order.findIndex((r) => r.runId === run.runId);
  const config = instance.config?.runCoordinator.queued;
  let limit: RunLimit | null = null;
  if (config) {
    const inProgress = await instance.storage.listRuns({ status: [...IN_PROGRESS_RUN_STATUSES], limit: 10_000 });
    if (inProgress.length >= config.maxConcurrentRuns) {
      limit = { kind: 'maxConcurrentRuns', limit: config.maxConcurrentRuns, inProgress: inProgress.length };
    }
    for (const tagLimit of config.tagConcurrencyLimits) limit ??= tagLimitHit(run, tagLimit, inProgress);
  }
  return { kind: 'run-queued', position: position + 1, limit };
}

/** Why one started step is waiting: upstream, its queue, the workers serving it, a retry delay. */
async function stepReasons(
  row: StepRow,
  rows: ReadonlyMap<string, StepRow>,
  events: readonly StoredEvent[],
  workers: WorkerMonitor | undefined,
): Promise<WaitReason[]> {
  if (row.status === 'PENDING') {
    const open = row.upstream.filter((u) => {
      const up = rows.get(u);
      return up ? up.status !== 'SUCCESS' : [...rows.values()].some((r) => r.planKey === u && r.status !== 'SUCCESS');
    });
    return [{ kind: 'upstream', steps: open }];
  }
  if (row.status === 'UP_FOR_RETRY') {
    const retry = events.findLast((e) => e.type === 'STEP_UP_FOR_RETRY' && e.stepKey === row.key);
    if (retry?.type === 'STEP_UP_FOR_RETRY') {
      return [{ kind: 'retry', nextAttempt: retry.data.nextAttempt, at: retry.timestamp + retry.data.delayMs }];
    }
  }
  if (!workers) return [{ kind: 'unknown', message: 'Redis is not configured for this UI: queues cannot be read' }];
  const page = await workers.snapshot();
  const queue = page.queues.find((q) => q.name === row.queue);
  const serving = page.workers.filter((w) => !w.draining && w.queues.includes(row.queue));
  if (serving.length === 0) return [{ kind: 'no-worker', queue: row.queue }];
  const out: WaitReason[] = [];
  const ahead = queue ? queue.counts.waiting + queue.counts.prioritized : await workers.waitingOn(row.queue);
  if (ahead > 0) out.push({ kind: 'queue', queue: row.queue, jobsAhead: ahead });
  const slots = serving.reduce((n, w) => n + w.concurrency, 0);
  const busy = serving.reduce((n, w) => n + w.used, 0);
  if (busy >= slots) out.push({ kind: 'worker-slots', queue: row.queue, slots, busy });
  return out.length > 0
    ? out
    : [{ kind: 'unknown', message: `waiting for a worker of queue '${row.queue}' to take it` }];
}

/** GET /api/runs/:id/waiting: each step that has not started (or waits to retry), with why. */
export async function whyWaiting(
  instance: Instance,
  run: RunRecord,
  rows: readonly StepRow[],
  events: readonly StoredEvent[],
  workers: WorkerMonitor | undefined,
): Promise<WaitingResponse> {
  const waiting = rows.filter((r) => NOT_STARTED.has(r.status));
  const steps: WaitingResponse['steps'] = [];
  if (run.status === 'QUEUED') {
    const reason = await queuedReason(instance, run);
    for (const r of waiting) steps.push({ key: r.key, status: r.status, reasons: [reason] });
  } else if (run.status === 'STARTING') {
    for (const r of waiting)
      steps.push({ key: r.key, status: r.status, reasons: [{ kind: 'run-not-started', status: run.status }] });
  } else if (run.status === 'STARTED') {
    const byKey = new Map(rows.map((r) => [r.key, r]));
    for (const r of waiting) {
      steps.push({ key: r.key, status: r.status, reasons: await stepReasons(r, byKey, events, workers) });
    }
  }
  return { runId: run.runId, steps };
}
