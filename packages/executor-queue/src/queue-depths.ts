import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** A queue's BullMQ job counts by state (what the UI's workers page and KEDA's backlog read). */
export type QueueDepth = Record<
  'waiting' | 'prioritized' | 'active' | 'delayed' | 'waiting-children' | 'completed' | 'failed',
  number
>;

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'completed', 'failed'] as const;

/** Reads the job counts of step queues, with one BullMQ handle per queue kept for later reads. Read-only. */
export class QueueDepths {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  async of(name: string): Promise<QueueDepth> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      // Errors reach the caller through getJobCounts; the handle's own 'error' event must not crash the process.
      queue.on('error', () => {});
      this.queues.set(name, queue);
    }
    const counts = await queue.getJobCounts(...STATES);
    const out = {} as QueueDepth;
    for (const state of STATES) out[state] = counts[state] ?? 0;
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
    this.queues.clear();
  }
}
