import { makeEvent, type StepwiseEvent } from '@stepwise/core';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DeadLetters } from './dead-letters.js';
import type { RedisKeys } from './keys.js';
import { readStream, type StreamEntry } from './scripts.js';
import { decodeEventEntry, type InlineValue } from './wire.js';

export interface EventConsumerOptions {
  /** A connection of its own: XREAD BLOCK holds it. */
  redis: Redis;
  /** A shared, non-blocking connection for side writes (dead letters). */
  commands: Redis;
  keys: RedisKeys;
  runId: string;
  logger: Logger;
  onEvent: (event: StepwiseEvent) => void;
  /** Small output values that came with the events (before them). */
  onValues?: (values: InlineValue[]) => void;
  /** Stream id to read after. Default `0` (the whole stream). */
  fromId?: string;
  /** How long one XREAD blocks, so stop() is noticed. Default 1,000 ms. */
  blockMs?: number;
}

/**
 * Reads one run's event stream in order from its last id, across reconnects, and hands each event over once.
 * A retried XADD can store an entry twice; entries carry `<producer>:<seq>` ids, and since a producer's entries
 * reach the stream in seq order, an entry whose seq is not above its producer's last is a duplicate.
 * Malformed entries are logged, dead-lettered and reported on the run as an ENGINE_EVENT (`entry_refused`);
 * reading goes on.
 */
export class EventConsumer {
  private lastId: string;
  private running = false;
  private loop?: Promise<void>;
  private readonly lastSeq = new Map<string, number>();
  /** Worker ids seen, to share one string per worker among the events. */
  private readonly strings = new Map<string, string>();
  /** Entries read, duplicates and malformed ones included. */
  entriesRead = 0;
  duplicates = 0;
  malformed = 0;

  private readonly deadLetters: DeadLetters;

  constructor(private readonly options: EventConsumerOptions) {
    this.lastId = options.fromId ?? '0';
    this.deadLetters = new DeadLetters(options.commands, options.keys);
  }

  get position(): string {
    return this.lastId;
  }

  /**
   * Reads, without blocking, everything the stream holds now (a resumed run's backlog), so the coordinator knows
   * what already happened before it dispatches anything.
   */
  async catchUp(): Promise<void> {
    const stream = this.options.keys.runEvents(this.options.runId);
    for (;;) {
      const entries = await readStream(this.options.redis, stream, this.lastId, 5_000);
      if (entries.length === 0) return;
      this.handleAll(entries);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops reading. The blocking connection is closed, so a pending XREAD BLOCK does not hold the stop. */
  async stop(): Promise<void> {
    this.running = false;
    this.options.redis.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { redis, keys, runId, logger } = this.options;
    const stream = keys.runEvents(runId);
    const blockMs = this.options.blockMs ?? 1_000;
    let failures = 0;
    while (this.running) {
      let entries: StreamEntry[];
      try {
        entries = await readStream(redis, stream, this.lastId, 2_000, blockMs);
        failures = 0;
      } catch (error) {
        if (!this.running) break;
        failures++;
        if (failures === 1)
          logger.warn({ err: (error as Error).message, runId }, 'reading the run event stream failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** Math.min(failures, 5), 2_000)));
        continue;
      }
      this.handleAll(entries);
    }
  }

  /**
   * Handles a reply's entries in order, letting go of each once handled: handling 2,000 entries allocates enough
   * to run the young-generation GC a few times, and entries still referenced by the reply would survive it and be
   * copied to the old generation, which a coordinator of a long run then grows for nothing.
   */
  private handleAll(entries: Array<StreamEntry | undefined>): void {
    for (let i = 0; i < entries.length; i++) {
      const [idBuf, fields] = entries[i] as StreamEntry;
      entries[i] = undefined;
      this.lastId = idBuf.toString();
      this.entriesRead++;
      this.handle(this.lastId, fields);
    }
  }

  private handle(streamId: string, fields: Buffer[]): void {
    const { logger, runId } = this.options;
    let decoded: ReturnType<typeof decodeEventEntry>;
    try {
      decoded = decodeEventEntry(fields);
      const other = decoded.events.find((e) => e.runId !== runId);
      if (other) throw new Error(`entry names run ${other.runId}`);
    } catch (error) {
      this.malformed++;
      logger.error(
        { err: (error as Error).message, runId, streamId },
        'malformed entry on the run event stream; dead-lettered',
      );
      const stream = this.options.keys.runEvents(runId);
      const reason = (error as Error).message;
      this.deadLetters.streamEntry(stream, streamId, reason, fields).catch(() => {});
      // Said on the run too: its events may be among those refused, and its log must say so.
      this.options.onEvent(
        makeEvent(
          'ENGINE_EVENT',
          runId,
          { kind: 'entry_refused', details: { streamId, reason } },
          { message: `an entry of the run's event stream was refused and dead-lettered: ${reason}` },
        ),
      );
      return;
    }
    const colon = decoded.id.lastIndexOf(':');
    const producer = decoded.id.slice(0, colon);
    const seq = Number(decoded.id.slice(colon + 1));
    if (colon > 0 && Number.isFinite(seq)) {
      const last = this.lastSeq.get(producer) ?? -1;
      if (seq <= last) {
        this.duplicates++;
        return;
      }
      this.lastSeq.set(producer, seq);
    }
    if (decoded.values.length > 0) this.options.onValues?.(decoded.values);
    for (const event of decoded.events) {
      // Each decoded event has its own copies of these strings; a run's log may be kept in memory (300,000
      // events for 100,000 steps), so point them at one copy each.
      event.runId = runId;
      if (event.workerId !== undefined) event.workerId = this.intern(event.workerId);
      this.options.onEvent(event);
    }
  }

  private intern(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    if (this.strings.size < 10_000) this.strings.set(value, value);
    return value;
  }
}
