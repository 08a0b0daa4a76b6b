import { randomUUID } from 'node:crypto';
import type { StepwiseEvent } from '@stepwise/core';
import type { ChainableCommander, Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';
import { appendToStream, sendPipeline } from './scripts.js';
import { chunkEventEntries, encodeEventEntry, type InlineValue } from './wire.js';

/** A command to send before the events of the same turn (an output value's SET), and who waits for it. */
interface QueuedWrite {
  write: (pipeline: ChainableCommander) => void;
  resolve: () => void;
}

/**
 * Appends step events to their runs' streams. Events written in one turn of the event loop go out as one entry per
 * run, in one pipeline (one round trip), in order, after the writes queued with them (the values they announce).
 * Each entry carries `<producer>:<seq>`, so the coordinator drops the copy a retried XADD may leave.
 */
export class EventPublisher {
  private readonly producer = randomUUID();
  private seq = 0;
  /** Events of this tick, by run stream, in order. */
  private batch = new Map<string, { events: StepwiseEvent[]; values: InlineValue[] }>();
  private writes: QueuedWrite[] = [];
  private inFlight: Promise<void> = Promise.resolve();
  /** Resolves once the send scheduled for this turn has been handed to Redis (see schedule). */
  private scheduled: Promise<void> = Promise.resolve();

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
    this.schedule();
    this.entryFor(event.runId).events.push(event);
  }

  /** Sends a small output value with this tick's events of its run, so the coordinator can inline it in jobs. */
  publishValue(runId: string, value: InlineValue): void {
    this.schedule();
    this.entryFor(runId).values.push(value);
  }

  /**
   * Queues a command to go out ahead of this turn's events, in the same pipeline: an output value is then in
   * Redis before any event that announces it. Resolves once Redis has taken it (retried like the events).
   */
  publishWrite(write: (pipeline: ChainableCommander) => void): Promise<void> {
    this.schedule();
    return new Promise((resolve) => this.writes.push({ write, resolve }));
  }

  private schedule(): void {
    if (this.batch.size > 0 || this.writes.length > 0) return;
    this.scheduled = new Promise((resolve) =>
      setImmediate(() => {
        this.send();
        resolve();
      }),
    );
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

  /**
   * Resolves once every event published so far is in Redis. Waits for the scheduled send rather than sending at
   * once: the jobs that end in this turn of the event loop then share one pipeline.
   */
  async flush(): Promise<void> {
    await this.scheduled;
    await this.inFlight;
  }

  private send(): void {
    if (this.batch.size === 0 && this.writes.length === 0) return;
    const writes = this.writes;
    this.writes = [];
    // One entry per run stream: the events of one turn cost one XADD and one decode; a turn of more events than
    // an entry takes (a step with a dynamic output of 20,000 items) goes as several, in order.
    const batch = [...this.batch]
      .filter(([, entry]) => entry.events.length > 0)
      .flatMap(([stream, { events, values }]) =>
        chunkEventEntries(events, values).map((chunk) => ({
          stream,
          fields: encodeEventEntry(chunk.events, `${this.producer}:${this.seq++}`, chunk.values),
        })),
      );
    this.batch = new Map();
    // Chained so that batches reach Redis in order even across reconnects.
    this.inFlight = this.inFlight.then(async () => {
      // Retried until Redis takes it: an event must not be lost. Entries that did land are sent again with
      // the same ids, and the coordinator drops those copies.
      for (let attempt = 0; ; attempt++) {
        try {
          // The values go in the same pipeline as the events that announce them: a separate (auto-pipelined)
          // SET can be overtaken by this explicit pipeline while an earlier auto-pipeline awaits its reply.
          await sendPipeline(this.redis, (pipeline) => {
            for (const { write } of writes) write(pipeline);
            for (const { stream, fields } of batch) appendToStream(pipeline, stream, fields);
          });
          for (const { resolve } of writes) resolve();
          return;
        } catch (error) {
          this.onError?.(error);
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** Math.min(attempt, 5), 2_000)));
        }
      }
    });
  }
}
