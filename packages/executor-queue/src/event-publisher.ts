import { randomUUID } from 'node:crypto';
import type { StepwiseEvent } from '@stepwise/core';
import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';
import { encodeEventEntry, type InlineValue } from './wire.js';

/**
 * Appends step events to their runs' streams. Events written in one turn of the event loop go out as one entry per
 * run, in order, after every command sent earlier on the same connection (the values they announce). Each entry carries `<producer>:<seq>`, so the coordinator drops the copy a retried XADD may leave.
 */
export class EventPublisher {
  private readonly producer = randomUUID();
  private seq = 0;
  /** Events of this tick, by run stream, in order. */
  private batch = new Map<string, { events: StepwiseEvent[]; values: InlineValue[] }>();
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly onError?: (error: unknown) => void,
  ) {}

  /**
   * Queues an event; it is sent with the others of this turn of the event loop (setImmediate, not a microtask:
   * a short step's STEP_START then shares an entry with its end, and concurrent steps share one pipeline).
   */
  publish(event: StepwiseEvent): void {
    if (this.batch.size === 0) setImmediate(() => this.send());
    this.entryFor(event.runId).events.push(event);
  }

  /** Sends a small output value with this tick's events of its run, so the coordinator can inline it in jobs. */
  publishValue(runId: string, value: InlineValue): void {
    if (this.batch.size === 0) setImmediate(() => this.send());
    this.entryFor(runId).values.push(value);
  }

  private entryFor(runId: string): { events: StepwiseEvent[]; values: InlineValue[] } {
    const stream = this.keys.runEvents(runId);
    let entry = this.batch.get(stream);
    if (!entry) {
      entry = { events: [], values: [] };
      this.batch.set(stream, entry);
    }
    return entry;
  }

  /** Resolves once every event published so far is in Redis. */
  async flush(): Promise<void> {
    if (this.batch.size > 0) this.send();
    await this.inFlight;
  }

  private send(): void {
    if (this.batch.size === 0) return;
    // One entry per run stream: the events of one turn cost one XADD and one decode.
    const batch = [...this.batch]
      .filter(([, entry]) => entry.events.length > 0)
      .map(([stream, { events, values }]) => ({
        stream,
        fields: encodeEventEntry(events, `${this.producer}:${this.seq++}`, values),
      }));
    this.batch = new Map();
    // Chained so that batches reach Redis in order even across reconnects.
    this.inFlight = this.inFlight.then(async () => {
      // Retried until Redis takes it: an event must not be lost. Entries that did land are sent again with
      // the same ids, and the coordinator drops those copies.
      for (let attempt = 0; ; attempt++) {
        try {
          // Plain commands, not an explicit pipeline: on an auto-pipelined connection an explicit pipeline goes
          // out at once, ahead of auto-pipelined commands still queued behind a running batch, such as the SET
          // of the output these events announce (seen: STEP_SUCCESS in Redis before its value). Auto-pipelined
          // commands keep their call order, and they still share one round trip.
          await Promise.all(batch.map(({ stream, fields }) => this.redis.xadd(stream, '*', ...fields)));
          return;
        } catch (error) {
          this.onError?.(error);
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** Math.min(attempt, 5), 2_000)));
        }
      }
    });
  }
}
