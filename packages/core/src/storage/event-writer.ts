import type { StepwiseEvent } from '../events/events.js';
import type { RunStorage } from './run-storage.js';

export interface EventWriterOptions {
  /**
   * Most events per storage transaction; a full buffer starts a write at once instead of waiting for the next
   * tick. Default 1,000. Larger batches amortise transaction cost further but hold more events in memory.
   */
  maxBatch?: number;
  /** Called when a background write fails (the events stay buffered; the next `flush()` retries them). */
  onError?: (error: unknown) => void;
}

/**
 * Batches events into storage so that a run's event rate is not bounded by one transaction per event.
 * `write` only buffers (synchronous, never throws); a write is scheduled for the next turn of the event loop,
 * or started at once when `maxBatch` events are waiting. One storage transaction is in flight at a time and
 * batches go in write order, so per-run order is kept.
 *
 * Failures: the failed batch goes back to the front of the buffer, background writes pause, and the next
 * `flush()` retries everything in order (rejecting if it fails again).
 */
export class EventWriter {
  private readonly maxBatch: number;
  private readonly onError?: (error: unknown) => void;
  private buffer: StepwiseEvent[] = [];
  private pumping?: Promise<void>;
  private scheduled = false;
  private failed = false;
  private written = 0;
  private stored = 0;

  constructor(
    private readonly storage: RunStorage,
    options: EventWriterOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 1_000);
    this.onError = options.onError;
  }

  /** Events written but not yet stored. */
  get pending(): number {
    return this.written - this.stored;
  }

  /** Buffers `event` for storage. Returns at once. */
  write(event: StepwiseEvent): void {
    this.buffer.push(event);
    this.written++;
    if (this.failed) return;
    if (this.buffer.length >= this.maxBatch) this.kick();
    else if (!this.scheduled) {
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
    this.failed = false;
    while (this.stored < target) {
      await this.pump();
    }
  }

  /** Starts a background drain unless one is running or writes are paused after a failure. */
  private kick(): void {
    if (this.failed || this.pumping || this.buffer.length === 0) return;
    this.pump().then(
      () => this.kick(),
      (error) => {
        this.failed = true;
        this.onError?.(error);
      },
    );
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
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.maxBatch);
      try {
        await this.storage.appendEvents(batch);
      } catch (error) {
        this.buffer = batch.concat(this.buffer);
        throw error;
      }
      this.stored += batch.length;
    }
  }
}
