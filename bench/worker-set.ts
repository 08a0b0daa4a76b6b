/** The benchmark's `stepwise worker` processes: started once and reused, so their JIT is warm after the warm-up. */
import { fileURLToPath } from 'node:url';
import { spawnWorker, uniquePrefix, type WorkerProcess, waitForWorkers } from '@stepwise/testing';

const REPO = fileURLToPath(new URL('..', import.meta.url));
export const WORKLOADS_FILE = fileURLToPath(new URL('./queue-workloads.ts', import.meta.url));
/** Bound on workers becoming live (loading tsx and the workloads file, connecting). */
const WORKERS_LIVE_TIMEOUT_MS = 60_000;
/** Bytes of each worker's output kept for error messages. */
const LOG_TAIL_BYTES = 16_384;
/** The worker's own default: the figures are for a production setup, not the tests' short locks. */
const LOCK_DURATION_MS = 30_000;

export interface WorkerSetOptions {
  redisUrl: string;
  prefix: string;
  count: number;
  concurrency: number;
  /** Extra environment for the workers (e.g. the wide pipeline's size, NODE_OPTIONS=--cpu-prof). */
  env?: Record<string, string>;
  /** The definitions file the workers load. Default bench/queue-workloads.ts. */
  file?: string;
  /** More `stepwise worker` arguments (e.g. `--isolation thread`). */
  extraArgs?: string[];
  /** Extra node flags for the first worker only, e.g. `--cpu-prof` (which Node 20 refuses in NODE_OPTIONS). */
  firstNodeArgs?: string[];
}

export class WorkerSet {
  private constructor(
    readonly options: WorkerSetOptions,
    private readonly workers: WorkerProcess[],
  ) {}

  /** Spawns the workers and waits until every one of them is live in the worker registry. */
  static async start(options: WorkerSetOptions): Promise<WorkerSet> {
    const run = uniquePrefix('bench').slice(1, -1);
    const workers = Array.from({ length: options.count }, (_, i) =>
      spawnWorker({
        file: options.file ?? WORKLOADS_FILE,
        extraArgs: options.extraArgs,
        redisUrl: options.redisUrl,
        prefix: options.prefix,
        name: `${run}-${i}`,
        concurrency: options.concurrency,
        lockDurationMs: LOCK_DURATION_MS,
        nodeArgs: i === 0 ? options.firstNodeArgs : undefined,
        env: options.env,
        // Workers log at warn level: only trouble shows up, and the tail goes into error messages.
        logLevel: 'warn',
        keepChars: LOG_TAIL_BYTES,
        cwd: REPO,
      }),
    );
    const set = new WorkerSet(options, workers);
    const names = workers.map((w) => w.name);
    try {
      await waitForWorkers(options.redisUrl, options.prefix, names, WORKERS_LIVE_TIMEOUT_MS, workers);
    } catch (err) {
      await set.stop();
      throw new Error(`${(err as Error).message}\n${set.logTail()}`);
    }
    return set;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.proc.pid ?? -1);
  }

  /** Throws if a worker has died. */
  check(): void {
    const dead = this.workers.find((w) => w.proc.exitCode !== null || w.proc.signalCode !== null);
    if (dead) {
      throw new Error(
        `stepwise worker ${dead.name} exited (code ${dead.proc.exitCode}, signal ${dead.proc.signalCode})`,
      );
    }
  }

  /** The last lines each worker wrote, for error messages. */
  logTail(lines = 20): string {
    return this.workers
      .map((w) => `--- worker ${w.name} (pid ${w.proc.pid}):\n${w.output().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  /** SIGTERM (workers drain and exit 0), SIGKILL after a grace period. */
  async stop(graceMs = 15_000): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop(graceMs)));
  }
}
