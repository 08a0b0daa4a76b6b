/**
 * Every Redis key and channel Stepwise uses, in one place. `prefix` is also BullMQ's prefix, so a deployment's
 * queues, streams and values share one namespace that `prefix` isolates.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** The stream of one run's step events, written by workers and read by the coordinator. */
  runEvents(runId: string): string {
    return `${this.prefix}:run:${runId}:events`;
  }

  /** Set when a run is canceled; workers refuse its steps. */
  runCanceled(runId: string): string {
    return `${this.prefix}:run:${runId}:canceled`;
  }

  /** The lease epoch of the run's newest coordinator: older coordinators' dispatches are refused (claim-epoch.lua). */
  runEpoch(runId: string): string {
    return `${this.prefix}:run:${runId}:epoch`;
  }

  /** Set of the run's steps whose success a worker sent: a re-run job (its worker lost) skips them. */
  runSucceeded(runId: string): string {
    return `${this.prefix}:run:${runId}:succeeded`;
  }

  /** Kept by the run's watchdog while the run goes on: gone means Redis lost the run's data (watch-run.lua). */
  runWatch(runId: string): string {
    return `${this.prefix}:run:${runId}:watch`;
  }

  /**
   * Hash of the run's steps whose job lock was lost because their worker's event loop was blocked (field: step
   * key, value: how often): a worker taking such a job again fails the step once the count reaches its bound.
   */
  runStalls(runId: string): string {
    return `${this.prefix}:run:${runId}:stalls`;
  }

  /** Pub/sub channel announcing canceled runs, so workers abort their running steps. */
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  /** A stored output value. */
  value(runId: string, step: string, output: string, mappingKey?: string): string {
    return mappingKey === undefined
      ? `${this.prefix}:io:${runId}:${step}:${output}`
      : `${this.prefix}:io:${runId}:${step}:${output}[${mappingKey}]`;
  }

  /** Every value key of a run, for cleanup. */
  valuesOfRun(runId: string): string {
    return `${this.prefix}:io:${runId}:*`;
  }

  /** Sorted set of live workers by last heartbeat. */
  get workers(): string {
    return `${this.prefix}:workers`;
  }

  /** One worker's self-description (JSON), refreshed with each heartbeat. */
  worker(id: string): string {
    return `${this.prefix}:worker:${id}`;
  }

  /** Malformed jobs and stream entries, kept for inspection. */
  get deadLetter(): string {
    return `${this.prefix}:dead-letter`;
  }
}

export const DEFAULT_PREFIX = 'stepwise';
