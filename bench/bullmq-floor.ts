/**
 * The floor of any BullMQ design: a bare driver/worker loop with the dispatch Stepwise's queue executor does,
 * and none of its plans, events, storage or intermediates.
 *
 * The driver `addBulk`s every ready step onto a BullMQ queue (a unique queue per run); forked worker processes
 * (BullMQ Workers, concurrency 8) run a no-op and `XADD` the step key to a results stream; the driver
 * `XREAD BLOCK`s that stream from its last id on a connection of its own, counts down the remaining deps of each
 * dependent and `addBulk`s the steps that became ready.
 *
 * Run alone: `npx tsx --conditions=source bench/bullmq-floor.ts`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startRedisServer, stopProcess } from '@stepwise/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { FloorWorkerCommand, FloorWorkerReply } from './bullmq-floor-worker.js';
import { formatTable, median, round } from './stats.js';
import { type Dag, w1, w2, w3 } from './workloads.js';

const WORKER_FILE = fileURLToPath(new URL('./bullmq-floor-worker.ts', import.meta.url));
// Resolved here, so the workers load tsx from this checkout whatever their cwd is.
const TSX_LOADER = import.meta.resolve('tsx');
/** Per-job options: completed jobs are removed at once, as a real executor's would be. */
const JOB_OPTS = { removeOnComplete: true, removeOnFail: true } as const;
/** Entries one XREAD may return: large, so a burst of completions costs one round trip. */
const XREAD_COUNT = 10_000;
/** Bound on every exchange with a worker process (startup, opening or closing its BullMQ Worker). */
const WORKER_REPLY_TIMEOUT_MS = 30_000;

export interface FloorPoolOptions {
  redisUrl: string;
  /** Worker processes. Default 2. */
  workers?: number;
  /** BullMQ Worker concurrency per process. Default 8. */
  concurrency?: number;
}

export interface FloorOptions extends FloorPoolOptions {
  /** Bound on one timed run; the run fails past it instead of hanging. Default 120 s. */
  timeoutMs?: number;
  /**
   * Worker processes to reuse (see {@link FloorWorkerPool}); they must be on `redisUrl`. Default: fork a pool
   * for this run alone and stop it afterwards (its processes then run with a cold JIT).
   */
  pool?: FloorWorkerPool;
}

export interface FloorResult {
  steps: number;
  /** Wall time from the first `addBulk` to the last completion read. */
  ms: number;
  stepsPerSec: number;
  msPerStep: number;
  /** CPU time spent during the run by the driver process and by each worker process. */
  cpuMs: { driver: number; workers: number[] };
}

type Reply<T extends FloorWorkerReply['type']> = Extract<FloorWorkerReply, { type: T }>;

/** Waits for one reply of `type` from `child`, failing on an error reply, an exit or the timeout. */
function awaitReply<T extends FloorWorkerReply['type']>(child: ChildProcess, type: T): Promise<Reply<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        settle(new Error(`bullmq floor worker ${child.pid} sent no '${type}' within ${WORKER_REPLY_TIMEOUT_MS} ms`)),
      WORKER_REPLY_TIMEOUT_MS,
    );
    const settle = (err: Error | undefined, value?: Reply<T>) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', settle);
      if (err) reject(err);
      else resolve(value as Reply<T>);
    };
    const onMessage = (message: FloorWorkerReply) => {
      if (message.type === type) settle(undefined, message as Reply<T>);
      else if (message.type === 'error') settle(new Error(`bullmq floor worker ${child.pid}: ${message.message}`));
    };
    const onExit = (code: number | null) =>
      settle(
        new Error(`bullmq floor worker ${child.pid} exited with code ${code} while the driver waited for '${type}'`),
      );
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', settle);
  });
}

function send(child: ChildProcess, command: FloorWorkerCommand): void {
  if (!child.connected) throw new Error(`bullmq floor worker ${child.pid} is not connected`);
  child.send(command);
}

/**
 * Long-lived floor worker processes. Started once and reused across runs, so startup stays out of every timed
 * region and the warm-up run warms the workers' JIT as well as the driver's.
 */
export class FloorWorkerPool {
  private exitError: Error | undefined;

  private constructor(
    readonly redisUrl: string,
    private readonly children: ChildProcess[],
  ) {
    for (const child of children) {
      child.once('exit', (code, signal) => {
        this.exitError ??= new Error(`bullmq floor worker ${child.pid} exited (code ${code}, signal ${signal})`);
      });
    }
  }

  /** Forks the worker processes (run with tsx) and waits until each has connected to Redis. */
  static async start(options: FloorPoolOptions): Promise<FloorWorkerPool> {
    const count = options.workers ?? 2;
    const env = {
      ...process.env,
      FLOOR_REDIS_URL: options.redisUrl,
      FLOOR_CONCURRENCY: String(options.concurrency ?? 8),
    };
    const children = Array.from({ length: count }, () =>
      fork(WORKER_FILE, [], {
        execArgv: ['--import', TSX_LOADER],
        env,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    const pool = new FloorWorkerPool(options.redisUrl, children);
    try {
      await Promise.all(children.map((child) => awaitReply(child, 'ready')));
    } catch (err) {
      await pool.stop();
      throw err;
    }
    return pool;
  }

  /** Throws if a worker process has died. */
  check(): void {
    if (this.exitError) throw this.exitError;
  }

  /** Opens a BullMQ Worker on `queue` in every process; resolves once all are connected. */
  async open(queue: string, stream: string): Promise<void> {
    this.check();
    await Promise.all(
      this.children.map((child) => {
        const started = awaitReply(child, 'started');
        send(child, { type: 'start', queue, stream });
        return started;
      }),
    );
  }

  /** Closes every process's BullMQ Worker; returns the CPU time each used while it was open. */
  async close(): Promise<number[]> {
    const live = this.children.filter((child) => child.connected);
    const replies = await Promise.all(
      live.map((child) => {
        const closed = awaitReply(child, 'closed');
        send(child, { type: 'close' });
        return closed;
      }),
    );
    return replies.map((r) => r.cpuMs);
  }

  /** Asks every process to exit; kills those still running after a grace period. */
  async stop(): Promise<void> {
    const ask = (child: ChildProcess) => {
      if (child.connected) child.send({ type: 'exit' } satisfies FloorWorkerCommand);
    };
    await Promise.all(this.children.map((child) => stopProcess(child, { ask })));
  }
}

/** The DAG as index arrays, built before the clock starts (it is the plan, not the dispatch). */
interface IndexedDag {
  keys: string[];
  indexOf: Map<string, number>;
  depCount: Int32Array;
  dependents: number[][];
}

function indexDag(dag: Dag): IndexedDag {
  const keys = dag.steps.map((s) => s.key);
  const indexOf = new Map(keys.map((k, i) => [k, i]));
  if (indexOf.size !== keys.length) throw new Error(`${dag.name}: duplicate step keys`);
  const depCount = new Int32Array(keys.length);
  const dependents: number[][] = keys.map(() => []);
  dag.steps.forEach((step, i) => {
    const ups = new Set(step.deps);
    depCount[i] = ups.size;
    for (const up of ups) {
      const u = indexOf.get(up);
      if (u === undefined) throw new Error(`${dag.name}: step '${step.key}' depends on unknown step '${up}'`);
      dependents[u]?.push(i);
    }
  });
  return { keys, indexOf, depCount, dependents };
}

let runCounter = 0;

/** Runs `dag` once through the bare BullMQ loop and times it from the first `addBulk` to the last completion. */
export async function runFloor(dag: Dag, options: FloorOptions): Promise<FloorResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const { keys, indexOf, depCount, dependents } = indexDag(dag);
  const total = keys.length;
  const id = `floor-${process.pid}-${Date.now()}-${runCounter++}`;
  const stream = `${id}:results`;
  const ownPool = options.pool === undefined;
  const pool = options.pool ?? (await FloorWorkerPool.start(options));
  if (pool.redisUrl !== options.redisUrl) throw new Error('runFloor: options.pool runs against another Redis');

  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  // XREAD BLOCK holds its connection; it gets its own so addBulk never waits behind it.
  const reader = new Redis(options.redisUrl);
  const queue = new Queue(id, { connection });
  let opened = false;
  try {
    await queue.waitUntilReady();
    await pool.open(id, stream);
    opened = true;

    const remaining = Int32Array.from(depCount);
    const jobsFor = (indices: number[]) =>
      indices.map((i) => ({ name: 'step', data: { k: keys[i] as string }, opts: JOB_OPTS }));
    let addError: unknown;
    const enqueue = (indices: number[]) => {
      // Not awaited: the next XREAD goes out at once; ioredis keeps the commands in order on the connection.
      queue.addBulk(jobsFor(indices)).catch((err: unknown) => {
        addError ??= err;
      });
    };

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    const initial: number[] = [];
    for (let i = 0; i < total; i++) if (remaining[i] === 0) initial.push(i);
    enqueue(initial);
    let lastId = '0';
    let done = 0;
    while (done < total) {
      if (addError) throw addError;
      pool.check();
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`${dag.name}: bullmq floor run did not finish within ${timeoutMs} ms (${done}/${total} steps)`);
      }
      // A bounded BLOCK, so a dead worker or a failed addBulk is noticed within a second.
      const block = Math.min(1_000, Math.ceil(left));
      const reply = (await reader.xread('COUNT', XREAD_COUNT, 'BLOCK', block, 'STREAMS', stream, lastId)) as Array<
        [string, Array<[string, string[]]>]
      > | null;
      const entries = reply?.[0]?.[1];
      if (!entries || entries.length === 0) continue;
      const ready: number[] = [];
      for (const [entryId, fields] of entries) {
        lastId = entryId;
        const i = indexOf.get(fields[1] as string);
        if (i === undefined) throw new Error(`${dag.name}: unknown step key ${fields[1]} in the results stream`);
        done++;
        for (const d of dependents[i] as number[]) {
          remaining[d] = (remaining[d] as number) - 1;
          if (remaining[d] === 0) ready.push(d);
        }
      }
      if (ready.length > 0) enqueue(ready);
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    opened = false;
    const workers = await pool.close();
    return {
      steps: total,
      ms,
      stepsPerSec: (total / ms) * 1000,
      msPerStep: ms / total,
      cpuMs: { driver: (cpu.user + cpu.system) / 1000, workers },
    };
  } finally {
    if (opened) await pool.close().catch(() => undefined);
    if (ownPool) await pool.stop();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await connection.del(stream).catch(() => undefined);
    await queue.close();
    reader.disconnect();
    connection.disconnect();
  }
}

/** Floor figures of one workload: medians of the timed repetitions. */
export interface FloorSummary {
  workload: string;
  steps: number;
  stepsPerSec: number;
  msPerStep: number;
  runs: FloorResult[];
}

/** Warms up once (unless `warmup` is false), then runs `repetitions` times and takes the medians. */
export async function measureFloor(
  dag: Dag,
  options: FloorOptions,
  repetitions = 3,
  warmup = true,
): Promise<FloorSummary> {
  if (warmup) await runFloor(dag, options);
  const runs: FloorResult[] = [];
  for (let r = 0; r < repetitions; r++) runs.push(await runFloor(dag, options));
  return {
    workload: dag.name,
    steps: dag.steps.length,
    stepsPerSec: median(runs.map((r) => r.stepsPerSec)),
    msPerStep: median(runs.map((r) => r.msPerStep)),
    runs,
  };
}

/** Runs W1, W2 and W3 through the floor (2 workers × concurrency 8) against a private redis-server; prints a table. */
export async function main(): Promise<FloorSummary[]> {
  const redis = await startRedisServer();
  let pool: FloorWorkerPool | undefined;
  try {
    const options = { redisUrl: redis.url, workers: 2, concurrency: 8 };
    pool = await FloorWorkerPool.start(options);
    const summaries: FloorSummary[] = [];
    for (const dag of [w1(), w2(), w3()]) summaries.push(await measureFloor(dag, { ...options, pool }));
    const rows = [
      ['workload', 'steps', 'steps/s', 'ms/step', 'runs (steps/s)', 'cpu ms driver / workers'],
      ...summaries.map((s) => {
        const mid = [...s.runs].sort((a, b) => a.ms - b.ms)[s.runs.length >> 1] as FloorResult;
        return [
          s.workload,
          String(s.steps),
          String(Math.round(s.stepsPerSec)),
          String(round(s.msPerStep, 3)),
          s.runs.map((r) => Math.round(r.stepsPerSec)).join(' / '),
          [mid.cpuMs.driver, ...mid.cpuMs.workers].map((v) => Math.round(v)).join(' / '),
        ];
      }),
    ];
    console.log('bare BullMQ floor: 2 worker processes x concurrency 8, warm-up + 3 repetitions, median');
    console.log(formatTable(rows));
    return summaries;
  } finally {
    await pool?.stop();
    await redis.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
