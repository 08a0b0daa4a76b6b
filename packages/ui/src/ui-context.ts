import { type Instance, type LoadedDefinitions, loadDefinitions, UsageError } from '@stepwise/core';
import { RunChanges } from './live/run-changes.js';
import { RunViews } from './live/run-views.js';
import { StepMedians } from './views/step-medians.js';
import { WorkerMonitor } from './views/worker-monitor.js';

/** Redis of the workers and queues: the same URL and key prefix as `stepwise worker --redis --prefix`. */
export interface UiRedisOptions {
  url: string;
  /** Default `stepwise`. */
  prefix?: string;
}

export interface UiOptions {
  /** The instance whose storage the UI reads (the one runs, daemons and workers use). */
  instance: Instance;
  /** The definitions file (`-f FILE`): pipelines, their graphs, launch, schedules. Without it those answer 400. */
  file?: string;
  /** Mount point inside a user's server, e.g. `/stepwise`; default `''` (the root). */
  basePath?: string;
  /** When set, every API call needs it (`Authorization: Bearer T` or the session cookie of `/?token=T`). */
  token?: string;
  /** Refuse every state-changing call (403) and tell the front end to hide actions. Default false. */
  readOnly?: boolean;
  /** Workers and queue depths come from here; without it the workers page says Redis is not configured. */
  redis?: UiRedisOptions;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
  /** How many of a pipeline's last finished runs a step's median duration is taken over. Default 20. */
  medianRuns?: number;
  /** How often a live tail reads storage for new events, in ms. Default 100. */
  tailIntervalMs?: number;
  /** SSE heartbeat comment interval, in ms. Default 15000. */
  heartbeatMs?: number;
}

/** What every route reads: the options with defaults, and the definitions file loaded once. */
export class UiContext {
  readonly instance: Instance;
  readonly file: string | undefined;
  readonly basePath: string;
  readonly token: string | undefined;
  readonly readOnly: boolean;
  readonly redis: UiRedisOptions | undefined;
  readonly now: () => number;
  readonly medianRuns: number;
  readonly tailIntervalMs: number;
  readonly heartbeatMs: number;
  readonly medians: StepMedians;
  /** Replayed steps of recently viewed runs. */
  readonly runViews: RunViews;
  private loaded?: Promise<LoadedDefinitions>;
  private monitor?: WorkerMonitor;
  private changes?: RunChanges;
  private readonly closers = new Set<() => Promise<void>>();

  constructor(options: UiOptions) {
    this.instance = options.instance;
    this.file = options.file;
    this.basePath = (options.basePath ?? '').replace(/\/+$/, '');
    this.token = options.token === '' ? undefined : options.token;
    this.readOnly = options.readOnly ?? false;
    this.redis = options.redis;
    this.now = options.now ?? Date.now;
    this.medianRuns = options.medianRuns ?? 20;
    this.tailIntervalMs = options.tailIntervalMs ?? 100;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.medians = new StepMedians(this.instance, this.medianRuns, this.now);
    this.runViews = new RunViews(this.instance.storage);
  }

  /** Releases what the context opened itself (Redis connections); the instance stays the caller's. */
  async close(): Promise<void> {
    await Promise.all([...this.closers].map((close) => close().catch(() => {})));
    this.closers.clear();
  }

  /** The workers page's source, opened on first use; undefined without Redis. */
  workers(): WorkerMonitor | undefined {
    if (!this.redis) return undefined;
    if (!this.monitor) {
      const monitor = new WorkerMonitor(this.instance, this.redis, this.now);
      this.monitor = monitor;
      this.onClose(() => monitor.close());
    }
    return this.monitor;
  }

  /** Wake-ups on run submissions and ends (shared by every stream), opened on first use. */
  runChanges(): RunChanges {
    if (!this.changes) {
      const changes = new RunChanges(this.instance.storage);
      this.changes = changes;
      this.onClose(() => changes.close());
    }
    return this.changes;
  }

  /** Registers something to release on close. */
  onClose(close: () => Promise<void>): void {
    this.closers.add(close);
  }

  /** The definitions of `-f FILE`, loaded on first use (a failed load is retried on the next call). */
  definitions(): Promise<LoadedDefinitions> {
    if (this.file === undefined) {
      return Promise.reject(
        new UsageError('this UI was started without a definitions file: start it with stepwise ui -f FILE'),
      );
    }
    this.loaded ??= loadDefinitions(this.file).catch((error: unknown) => {
      this.loaded = undefined;
      throw error;
    });
    return this.loaded;
  }
}
