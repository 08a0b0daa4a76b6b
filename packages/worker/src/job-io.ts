import { decodeValue, encodeValue, FsIOManager, type IOManager, refKey, type StepTask } from '@stepwise/core';
import {
  type EncodedValue,
  type EventPublisher,
  inlineKey,
  MAX_INLINE_BYTES,
  type RedisIOManager,
  type StepJobData,
} from '@stepwise/executor-queue';

/**
 * The output values a worker stores in one turn of the event loop: they go to Redis as one store-if-newest
 * command, in the publisher's next pipeline, ahead of the events that announce them.
 */
export class TurnValues {
  private current?: { values: EncodedValue[]; sent: Promise<unknown> };

  constructor(
    private readonly redisIO: RedisIOManager,
    private readonly publisher: EventPublisher,
  ) {}

  /** Queues a value for this turn's command; resolves once Redis has taken it. */
  add(value: EncodedValue): Promise<unknown> {
    let turn = this.current;
    if (!turn) {
      const values: EncodedValue[] = [];
      const write = this.redisIO.storeAllCommand(values);
      const sent = this.publisher.publishWrite((pipeline) => {
        if (this.current?.values === values) this.current = undefined;
        write(pipeline);
      });
      turn = { values, sent };
      this.current = turn;
    }
    turn.values.push(value);
    return turn.sent;
  }
}

/** Where a job's outputs go: a shared-volume directory, or Redis through this turn's values. */
export type JobIOTarget = FsIOManager | { redisIO: RedisIOManager; values: TurnValues };

/**
 * The IO of one job's steps, its lead and its members. A step does not wait for Redis before the next step of its
 * job starts: a later step reads a small output of an earlier one from memory and a large one once its write is
 * done, an input the job carries inline from the job, the rest from Redis. Values go out in the publisher's
 * pipelines ahead of the events that announce them, and a job ends only after `publisher.flush()`, so the steps
 * of a bundle share pipelines and stream entries.
 */
export class JobIO {
  /** refKeys of the outputs the job's steps produced so far. */
  private readonly produced = new Set<string>();
  /** Small encoded values (at most MAX_INLINE_BYTES), sent with the events and read by later steps of the job. */
  private readonly small = new Map<string, Buffer>();
  /** Values on their way to Redis, by refKey: a later step of the job that reads one waits for its write. */
  private readonly storing = new Map<string, Promise<unknown>>();

  /** Steps of the job a previous run of it recorded as succeeded: not run again (see JobProcessor). */
  succeeded: ReadonlySet<string> = new Set();

  constructor(private readonly target: JobIOTarget) {}

  /**
   * A step of the job announced an output (STEP_OUTPUT): later steps may read it. Returns its bytes when small
   * enough to travel with the events (the coordinator then inlines it in the jobs of its readers).
   */
  recordOutput(key: string): Buffer | undefined {
    this.produced.add(key);
    return this.small.get(key);
  }

  /** Every input of `task` is config or an output an earlier step of this job produced. */
  hasInputsOf(task: StepTask): boolean {
    return Object.values(task.inputs).every(
      (input) =>
        input.from === 'config' ||
        (input.from === 'one' && this.produced.has(refKey(input.ref))) ||
        (input.from === 'many' && input.refs.every((r) => this.produced.has(refKey(r)))),
    );
  }

  /** The IO manager of one step of the job: `step` is the job's data with that step as its task. */
  managerFor(step: StepJobData): IOManager {
    const { target, small, storing } = this;
    if (target instanceof FsIOManager) return target;
    const { redisIO, values } = target;
    const inline = step.inline;
    // Stores do not wait for Redis's reply: the write goes out with (before) the step's events.
    return {
      store: (ref, value, meta) => {
        try {
          const bytes = encodeValue(value);
          const key = refKey(ref);
          redisIO.checkSize(ref, bytes);
          if (bytes.length <= MAX_INLINE_BYTES) small.set(key, bytes);
          storing.set(key, values.add({ ref, bytes, attempt: meta?.attempt ?? step.attempt }));
          return Promise.resolve();
        } catch (error) {
          return Promise.reject(error);
        }
      },
      load: async (ref) => {
        const key = refKey(ref);
        // An output of an earlier step of this job: in memory if small, else read once its write is done.
        const held = small.get(key);
        if (held) return decodeValue(held, key);
        const b64 = ref.runId === step.runId ? inline?.[inlineKey(ref)] : undefined;
        if (b64 !== undefined) return decodeValue(Buffer.from(b64, 'base64'), key);
        await storing.get(key);
        return redisIO.load(ref);
      },
      has: (ref) => (storing.has(refKey(ref)) ? Promise.resolve(true) : redisIO.has(ref)),
    };
  }
}
