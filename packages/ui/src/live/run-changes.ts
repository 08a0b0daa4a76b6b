import type { RunQueueWatch, RunStorage } from '@stepwise/core';

/**
 * Wake-ups when any process submits or ends a run: the storage's run-queue watch (PostgreSQL LISTEN/NOTIFY,
 * SQLite's change counter), opened once for every stream of this UI and shared. Streams still poll; a wake-up
 * only makes the runs list and run status answer at once instead of at the next poll.
 */
export class RunChanges {
  private readonly listeners = new Set<() => void>();
  private watch?: RunQueueWatch;

  constructor(private readonly storage: RunStorage) {}

  /** Calls `listener` on each change until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.watch ??= this.storage.watchRunQueue?.(() => {
      for (const l of [...this.listeners]) l();
    });
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    const watch = this.watch;
    this.watch = undefined;
    await watch?.close();
  }
}
