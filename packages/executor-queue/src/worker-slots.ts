import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';
import { listWorkers, type WorkerInfo } from './worker-registry.js';

/** How often the coordinator re-reads the worker registry for the slots serving each queue, in ms. */
const SLOTS_REFRESH_MS = 2_000;

/**
 * The live worker slots serving each queue, as last read from the worker registry: they decide whether ready steps
 * share jobs (bundle-policy.ts) and how many steps a run keeps in flight.
 */
export class WorkerSlots {
  private readonly byQueue = new Map<string, number>();
  private readAt = Number.NEGATIVE_INFINITY;
  /** Slots of the workers serving any of the run's queues. */
  total = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly runQueues: ReadonlySet<string>,
    private readonly now: () => number,
    /** Called with `total` after each read. */
    private readonly onRefresh?: (total: number) => void,
  ) {}

  /** Slots of the live workers serving `queue`. */
  of(queue: string): number {
    return this.byQueue.get(queue) ?? 0;
  }

  /** The last read is older than the refresh interval. */
  get stale(): boolean {
    return this.now() - this.readAt >= SLOTS_REFRESH_MS;
  }

  /** Reads the registry again; resolves to the live workers. */
  async refresh(): Promise<WorkerInfo[]> {
    this.readAt = this.now();
    const live = await listWorkers(this.redis, this.keys, this.readAt);
    this.byQueue.clear();
    let total = 0;
    for (const w of live) {
      if (w.draining) continue;
      for (const q of w.queues) this.byQueue.set(q, (this.byQueue.get(q) ?? 0) + w.concurrency);
      if (w.queues.some((q) => this.runQueues.has(q))) total += w.concurrency;
    }
    this.total = total;
    this.onRefresh?.(total);
    return live;
  }
}
