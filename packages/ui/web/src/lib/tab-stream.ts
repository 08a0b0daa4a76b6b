import { signal } from '@preact/signals';
import type {
  RunEventsFrame,
  RunStatusFrame,
  RunsFrame,
  StepsFrame,
  StreamHelloFrame,
  WorkersResponse,
} from '../api/types.js';
import { appUrl } from './router.js';

/** The state shown in the top bar: `retrying` is the visible "disconnected, retrying" state. */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'retrying';

export const connection = signal<ConnectionState>('idle');

/** What the current page listens to. A change of topics opens a new stream (the server's rule). */
export interface Topics {
  readonly run?: {
    readonly id: string;
    /** Where the tail starts: the last seq the page already holds. */
    readonly afterSeq: number;
    readonly filters?: Readonly<Record<string, string | undefined>>;
  };
  readonly runs?: Readonly<Record<string, string | undefined>>;
  readonly workers?: boolean;
}

export interface StreamHandlers {
  readonly hello?: (f: StreamHelloFrame) => void;
  readonly runEvents?: (f: RunEventsFrame) => void;
  readonly run?: (f: RunStatusFrame) => void;
  readonly steps?: (f: StepsFrame) => void;
  readonly runs?: (f: RunsFrame) => void;
  readonly workers?: (f: WorkersResponse) => void;
}

const RETRY_MS = 1000;

/**
 * The tab's one EventSource. The browser resumes it after a drop with `Last-Event-ID` (the last run-events seq);
 * when the server closes it for good (an HTTP error), it is reopened here from the last seq seen. Events at or
 * below that seq are dropped, so a resume never shows a row twice.
 */
class TabStream {
  private source: EventSource | undefined;
  private topics: Topics = {};
  private handlers: StreamHandlers = {};
  private lastSeq = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** How many EventSources this tab opened: the browser tests read it to check there is one stream. */
  opened = 0;

  /** Listens to `topics` until the returned function is called (the page unmounts or changes topics). */
  open(topics: Topics, handlers: StreamHandlers): () => void {
    this.close();
    this.topics = topics;
    this.handlers = handlers;
    this.lastSeq = topics.run?.afterSeq ?? 0;
    this.connect();
    return () => {
      if (this.handlers === handlers) this.close();
    };
  }

  private url(): string {
    const q = new URLSearchParams();
    const { run, runs, workers } = this.topics;
    if (run) {
      q.set('run', run.id);
      q.set('afterSeq', String(this.lastSeq));
      for (const [k, v] of Object.entries(run.filters ?? {})) if (v) q.set(k, v);
    }
    if (runs) {
      q.set('runs', '1');
      for (const [k, v] of Object.entries(runs)) if (v) q.set(k, v);
    }
    if (workers) q.set('workers', '1');
    return appUrl(`/api/stream?${q.toString()}`);
  }

  private connect(): void {
    connection.value = 'connecting';
    const source = new EventSource(this.url());
    this.opened++;
    this.source = source;
    source.onopen = () => {
      connection.value = 'open';
    };
    source.onerror = () => {
      if (this.source !== source) return;
      connection.value = 'retrying';
      // CONNECTING: the browser retries by itself with Last-Event-ID. CLOSED: it gave up; reopen from lastSeq.
      if (source.readyState === EventSource.CLOSED) {
        this.source = undefined;
        this.retryTimer = setTimeout(() => this.connect(), RETRY_MS);
      }
    };
    const on = <T>(name: string, fn: (data: T) => void) =>
      source.addEventListener(name, (e) => {
        if (this.source === source) fn(JSON.parse((e as MessageEvent<string>).data) as T);
      });
    on<StreamHelloFrame>('hello', (f) => this.handlers.hello?.(f));
    on<RunEventsFrame>('run-events', (f) => {
      const fresh = f.events.filter((e) => e.seq > this.lastSeq);
      this.lastSeq = Math.max(this.lastSeq, f.lastSeq);
      this.handlers.runEvents?.({ ...f, events: fresh });
    });
    on<RunStatusFrame>('run', (f) => this.handlers.run?.(f));
    on<StepsFrame>('steps', (f) => this.handlers.steps?.(f));
    on<RunsFrame>('runs', (f) => this.handlers.runs?.(f));
    on<WorkersResponse>('workers', (f) => this.handlers.workers?.(f));
  }

  /** Drops the connection as a network cut would (browser tests force a reconnect with it). */
  dropForTest(): void {
    const source = this.source;
    if (!source) return;
    source.close();
    this.source = undefined;
    connection.value = 'retrying';
    this.retryTimer = setTimeout(() => this.connect(), RETRY_MS);
  }

  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.source?.close();
    this.source = undefined;
    connection.value = 'idle';
  }
}

export const tabStream = new TabStream();

/** What the browser tests and the benchmark read of the page (nothing here changes what the page does). */
export interface TestHooks {
  stream: TabStream;
  /** Seqs of the events the log holds, in order. */
  eventSeqs?: () => number[];
  /** When the Gantt first drew rows (performance.now()). */
  ganttPaintedAt?: number;
  /** When set (by the benchmark), each run-events batch is recorded: [its lastSeq, Date.now()]. */
  arrivals?: [number, number][];
}

declare global {
  interface Window {
    __stepwise?: TestHooks;
  }
}
window.__stepwise = { stream: tabStream };
