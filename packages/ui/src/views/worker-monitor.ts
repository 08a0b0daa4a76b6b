import { IN_PROGRESS_RUN_STATUSES, type Instance } from '@stepwise/core';
import {
  createRedis,
  listWorkers,
  QueueDepths,
  RedisKeys,
  redactUrl,
  WORKER_TTL_MS,
  type WorkerInfo,
} from '@stepwise/executor-queue';
import type { Redis } from 'ioredis';
import type { LostWorker, QueueRow, WorkerRow, WorkersResponse } from '../api-types.js';
import type { UiRedisOptions } from '../ui-context.js';

/** A worker that left on its own deletes its entry at once; one whose entry aged out of the registry was lost. */
const LOST_AFTER_MS = WORKER_TTL_MS / 2;
/** How long a lost worker stays on the page. */
const KEEP_LOST_MS = 60 * 60_000;
/** Answers within this age are served again (many tabs, one Redis read). */
const FRESH_MS = 1_000;

function row(w: WorkerInfo): WorkerRow {
  const used = w.running.length;
  return {
    id: w.id,
    name: w.name,
    host: w.host,
    pid: w.pid,
    queues: [...w.queues],
    concurrency: w.concurrency,
    used,
    free: w.draining ? 0 : Math.max(0, w.concurrency - used),
    running: w.running.map((r) => ({ ...r })),
    startedAt: w.startedAt,
    heartbeatAt: w.heartbeatAt,
    draining: w.draining,
  };
}

/** Queues that runs in progress put steps on (queue-executor runs only): a queue nobody serves is a stall. */
async function queuesInUse(instance: Instance): Promise<Set<string>> {
  const out = new Set<string>();
  const runs = await instance.storage.listRuns({ status: [...IN_PROGRESS_RUN_STATUSES], limit: 200 });
  for (const run of runs) {
    const execution = (run.runConfig as { execution?: Record<string, { defaultQueue?: unknown }> } | null)?.execution;
    if (!execution?.queue) continue;
    const fallback = typeof execution.queue.defaultQueue === 'string' ? execution.queue.defaultQueue : 'default';
    for (const step of run.plan.steps) out.add(step.tags.queue ?? fallback);
  }
  return out;
}

/**
 * The workers page: live workers from the registry `stepwise workers` reads, the ones this process saw vanish
 * without leaving (lost), and each queue's job counts with the slots serving it.
 */
export class WorkerMonitor {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly depths: QueueDepths;
  private readonly seen = new Map<string, WorkerInfo>();
  private readonly lost = new Map<string, LostWorker>();
  private last?: { at: number; value: Promise<WorkersResponse> };
  private lastError: string | null = null;

  constructor(
    private readonly instance: Instance,
    private readonly options: UiRedisOptions,
    private readonly now: () => number,
  ) {
    this.redis = createRedis({ url: options.url, waitForever: false, name: 'stepwise-ui' });
    this.redis.on('error', (error: Error) => {
      this.lastError = error.message;
    });
    this.keys = new RedisKeys(options.prefix ?? 'stepwise');
    this.depths = new QueueDepths(this.redis, this.keys.prefix);
  }

  snapshot(): Promise<WorkersResponse> {
    if (this.last && this.now() - this.last.at < FRESH_MS) return this.last.value;
    const value = this.read();
    this.last = { at: this.now(), value };
    return value;
  }

  private async read(): Promise<WorkersResponse> {
    const now = this.now();
    const redis = { configured: true, url: redactUrl(this.options.url), error: null as string | null };
    let live: WorkerInfo[];
    try {
      live = await listWorkers(this.redis, this.keys, now);
    } catch (error) {
      redis.error = `cannot read workers from Redis at ${redis.url}: ${this.lastError ?? (error as Error).message}`;
      return { redis, workers: [], lost: [...this.lost.values()], queues: [] };
    }
    this.track(live, now);
    const inUse = await queuesInUse(this.instance);
    const names = new Set<string>([...live.flatMap((w) => w.queues), ...inUse]);
    const queues: QueueRow[] = [];
    for (const name of [...names].sort()) {
      const serving = live.filter((w) => !w.draining && w.queues.includes(name));
      const slots = serving.reduce((n, w) => n + w.concurrency, 0);
      const busy = serving.reduce((n, w) => n + w.running.length, 0);
      const counts = await this.depths.of(name);
      const waiting = counts.waiting + counts.prioritized + counts.delayed + counts.active;
      queues.push({
        name,
        counts,
        workers: serving.length,
        slots,
        freeSlots: Math.max(0, slots - busy),
        noWorker: serving.length === 0 && (waiting > 0 || inUse.has(name)),
      });
    }
    return {
      redis,
      workers: live.map(row),
      lost: [...this.lost.values()].sort((a, b) => b.lostAt - a.lostAt),
      queues,
    };
  }

  /** Workers seen before and gone now: lost when their last heartbeat had aged (no clean exit). */
  private track(live: WorkerInfo[], now: number): void {
    const ids = new Set(live.map((w) => w.id));
    for (const [id, info] of this.seen) {
      if (ids.has(id)) continue;
      this.seen.delete(id);
      if (now - info.heartbeatAt < LOST_AFTER_MS) continue;
      this.lost.set(id, {
        id,
        name: info.name,
        host: info.host,
        queues: [...info.queues],
        lastHeartbeatAt: info.heartbeatAt,
        lostAt: now,
        running: info.running.map((r) => ({ ...r })),
      });
    }
    for (const w of live) {
      this.seen.set(w.id, w);
      this.lost.delete(w.id);
    }
    for (const [id, l] of this.lost) if (now - l.lostAt > KEEP_LOST_MS) this.lost.delete(id);
  }

  /** Waiting jobs on `queue` (for "N jobs ahead"). */
  async waitingOn(queue: string): Promise<number> {
    const c = await this.depths.of(queue);
    return c.waiting + c.prioritized;
  }

  async close(): Promise<void> {
    await this.depths.close();
    this.redis.disconnect();
  }
}
