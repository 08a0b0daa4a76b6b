import { CoordinatorSupersededError } from '../errors/index.js';
import type { StepwiseEvent } from '../events/events.js';
import type { Fence } from './run-lease.js';
import type { RunStorage } from './run-storage.js';

export interface EventWriterOptions {
  /**
   * Most events per storage transaction; a full buffer starts a write at once instead of waiting for the next
   * tick. Default 1,000. Larger batches amortise transaction cost further but hold more events in memory.
   */
  maxBatch?: number;
  /** Called when a background write fails (the events stay buffered and are retried, in order). */
  onError?: (error: unknown) => void;
  /**
   * After a background write fails, how long to wait before trying again on its own, in ms. Default 1,000.
   * A `flush()` retries at once regardless.
   */
  retryDelayMs?: number;
  /** Every append carries it: see RunStorage.appendEvents. */
  fence?: Fence;
  /**
   * Storage refused a write: another coordinator took the run. The writer then drops what it holds and everything
   * written after (the newer coordinator records the run), and its flushes resolve.
   */
  onSuperseded?: (error: CoordinatorSupersededError) => void;
}

/**
 * Batches events into storage so that a run's event rate is not bounded by one transaction per event.
 * `write` only buffers (synchronous, never throws); a write is scheduled for the next turn of the event loop,
 * or started at once when `maxBatch` events are waiting. One storage transaction is in flight at a time and
 * batches go in write order, so per-run order is kept.
 *
 * Failures: the failed batch goes back to the front of the buffer and background writes pause for
 * `retryDelayMs`, then resume; a `flush()` retries everything in order at once (rejecting if it fails again).
 */
export class EventWriter {
  private readonly maxBatch: number;
  private readonly onError?: (error: unknown) => void;
  private readonly retryDelayMs: number;
  private retryTimer?: NodeJS.Timeout;
  private buffer: StepwiseEvent[] = [];
  private pumping?: Promise<void>;
  private scheduled = false;
  private failed = false;
  private written = 0;
  private stored = 0;
  private stopped = false;

  constructor(
    private readonly storage: RunStorage,
    private readonly options: EventWriterOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 1_000);
    this.onError = options.onError;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
  }

  /** Events written but not yet stored. */
  get pending(): number {
    return this.written - this.stored;
  }

  /** Buffers `event` for storage. Returns at once. */
  write(event: StepwiseEvent): void {
    if (this.stopped) return;
    this.buffer.push(event);
    this.written++;
    if (this.failed) return;
    if (this.buffer.length >= this.maxBatch) this.kick();
    // Also when a full buffer was kicked: that kick may have found a drain just finishing, and the next tick
    // (after all microtasks) is when a new drain can surely start.
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.kick();
      });
    }
  }

  /** Resolves when every event written before the call is stored; rejects with the storage error otherwise. */
  async flush(): Promise<void> {
    const target = this.written;
    this.resume();
    while (this.stored < target) {
      await this.pump();
    }
  }

  /** Drops what is buffered and every later write: the run is another coordinator's now. */
  stop(): void {
    this.stopped = true;
    this.stored = this.written;
    this.buffer = [];
    this.resume();
  }

  /** Starts a background drain unless one is running or writes are paused after a failure. */
  private kick(): void {
    if (this.failed || this.pumping || this.buffer.length === 0) return;
    this.pump().then(
      () => this.kick(),
      (error) => {
        this.failed = true;
        this.onError?.(error);
        // Unref'd: a pending retry alone must not keep the process alive.
        this.retryTimer ??= setTimeout(() => {
          this.resume();
          this.kick();
        }, this.retryDelayMs).unref();
      },
    );
  }

  private resume(): void {
    this.failed = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** The running drain, or a new one: a single chain, so only one transaction is ever in flight. */
  private pump(): Promise<void> {
    if (!this.pumping) {
      this.pumping = this.drain().finally(() => {
        this.pumping = undefined;
      });
    }
    return this.pumping;
  }

  private async drain(): Promise<void> {
    let first = true;
    while (this.buffer.length > 0) {
      // A storage that answers within microtasks (SQLite is synchronous) would otherwise be handed every few
      // events the run produced meanwhile, one transaction each: let a turn of the event loop fill the batch.
      if (!first && this.buffer.length < this.maxBatch) await new Promise<void>((resolve) => setImmediate(resolve));
      first = false;
      const batch = this.buffer.splice(0, this.maxBatch);
      try {
        await this.storage.appendEvents(batch, this.options.fence);
      } catch (error) {
        if (error instanceof CoordinatorSupersededError) {
          this.stop();
          this.options.onSuperseded?.(error);
          return;
        }
        this.buffer = batch.concat(this.buffer);
        throw error;
      }
      this.stored += batch.length;
    }
  }
}
