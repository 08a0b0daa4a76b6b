import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';
import { addDeadLetter } from './scripts.js';

/** Most bytes of a malformed job's payload kept. */
const MAX_KEPT_JOB_BYTES = 65_536;

/**
 * Where malformed jobs (a worker's) and stream entries (the coordinator's) go: the `<prefix>:dead-letter` stream,
 * kept for inspection, so that bad input is never lost and never stops the reader.
 */
export class DeadLetters {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** A job whose payload is not a Stepwise job: its id and the start of its payload as JSON. */
  async job(queue: string, jobId: string | undefined, reason: string, data: unknown): Promise<void> {
    let raw: string;
    try {
      raw = JSON.stringify(data) ?? 'undefined';
    } catch {
      raw = String(data);
    }
    await addDeadLetter(this.redis, this.keys, [
      'source',
      `queue:${queue}`,
      'jobId',
      String(jobId),
      'reason',
      reason,
      'data',
      raw.slice(0, MAX_KEPT_JOB_BYTES),
    ]);
  }

  /** A run stream's entry that is not a Stepwise entry, with its fields as they were. */
  async streamEntry(stream: string, streamId: string, reason: string, fields: Buffer[]): Promise<void> {
    const args: Array<string | Buffer> = ['source', stream, 'streamId', streamId, 'reason', reason];
    for (let i = 0; i + 1 < fields.length; i += 2) args.push(`field:${fields[i]?.toString()}`, fields[i + 1] as Buffer);
    await addDeadLetter(this.redis, this.keys, args);
  }
}
