/**
 * The chaos soak (issue 6): runs the soak pipeline through the queue executor on `workers` real `stepwise worker`
 * processes, its own Redis (AOF, fsync always) and its own SQLite instance, back to back until `seconds` have
 * passed (at least one run), while the fault injector kills, freezes and restarts things. Then checks every run
 * from storage alone and reports `N passed, N failed` per invariant.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Instance } from '@stepwise/core';
import { createRedis } from '@stepwise/executor-queue';
import { type RedisServer, startRedisServer, uniquePrefix, waitUntil, withinOrTimeout } from '@stepwise/testing';
import { Queue } from 'bullmq';
import { staleBuildWarning } from './build-check.js';
import { checkRun, defineInvariants, type RunFigures } from './checker.js';
import { CoordinatorRun } from './coordinator-process.js';
import {
  checkDataLoss,
  type DataLossRound,
  dataLossLine,
  dataLossRound,
  defineDataLossInvariants,
} from './data-loss.js';
import { FaultInjector, type FaultKind } from './fault-injector.js';
import { checkFrozenCoordinators, defineFrozenCoordinatorInvariant } from './frozen-coordinator.js';
import { buildSoakGraph } from './graph.js';
import { formatInvariants, type InvariantResult, Invariants } from './invariants.js';
import { SEED_ENV, STEPS_ENV } from './pipeline.js';
import { findResumeRun } from './resume.js';
import { seededRandom } from './rng.js';
import { type UnexpectedExit, WorkerPool } from './worker-pool.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');

export interface SoakOptions {
  /** Steps of the soak pipeline (one run). */
  steps: number;
  /** Runs start back to back until this many seconds have passed; the first always runs. */
  seconds: number;
  /** Seeds the graph, the step durations and the fault schedule. Default 1. */
  seed?: number;
  /** Worker processes kept alive. Default 4. */
  workers?: number;
  /** `--concurrency` of each worker. Default 4. */
  concurrency?: number;
  /** `--lock-duration` of each worker and the executor. Default 2,000 ms. */
  lockDurationMs?: number;
  /** Mean time between worker kills; 0 disables them. Default 4,000 ms. */
  killEveryMs?: number;
  /** Workers frozen (SIGSTOP then SIGCONT), one at a time: 0–2. Default 1. */
  freezes?: number;
  /** How long a frozen worker stays stopped. Default 2 × lock + 1,000 ms. */
  freezeMs?: number;
  /** Restart Redis once. Default true. */
  redisRestart?: boolean;
  /** Redis downtime during its restart. Default 1,000 ms. */
  redisDownMs?: number;
  /** Kill the coordinator once and resume the run: 'auto' does so when @stepwise/core exports resumeRun. */
  coordinatorKill?: boolean | 'auto';
  /**
   * Freeze the coordinator once past its lease while the run is resumed elsewhere, then thaw it. Default: as
   * `coordinatorKill`. Off in the short CI soak: a thawed coordinator with nothing left to write has been seen not to
   * exit within 30 s, which holds back the one-time faults queued behind it (see bench/RESULTS.md, stop 12).
   */
  coordinatorFreeze?: boolean;
  /** How long the run has no coordinator when it is killed. Default 2,000 ms. */
  coordinatorDownMs?: number;
  /** A run not finished after this long is stuck (a failure). Default 120 s + 25 ms per step. */
  runTimeoutMs?: number;
  /** Keep the soak's directory (instance, AOF, logs): 'on-failure' (default), 'always' or 'never'. */
  keep?: 'always' | 'on-failure' | 'never';
  /**
   * Where step outputs live: Redis (`io.redis`, the default: it keeps the newest attempt's value) or files
   * (`io.fs`: the last writer wins, a documented limit, so 'outputs-not-stale' is only reported).
   */
  io?: 'fs' | 'redis';
  /** After the runs, one more during which Redis loses its data (FLUSHDB): see data-loss.ts. Default true. */
  dataLoss?: boolean;
  /** Progress and fault lines. Default: none. */
  log?: (line: string) => void;
}

export interface SoakFigures {
  wallMs: number;
  runs: number;
  stepsPerRun: number;
  stepsSucceeded: number;
  stepsPerSecond: number;
  faults: Record<FaultKind, number>;
  coordinatorKill: 'done' | 'skipped (no resume yet)' | 'off' | 'not reached';
  unexpectedWorkerExits: UnexpectedExit[];
  stepsWithRetries: number;
  maxAttempt: number;
  staleEvents: number;
  staleSuccesses: number;
  outputsFromLaterAttempt: number;
  events: number;
  engineEvents: Record<string, number>;
  stuckRuns: string[];
  runErrors: string[];
  perRun: RunFigures[];
}

export interface SoakReport {
  passed: boolean;
  invariants: InvariantResult[];
  figures: SoakFigures;
  /** The kept directory (instance, Redis AOF, process logs), if kept. */
  dir?: string;
  /** The printed report: one line per invariant, then the summary. */
  lines: string[];
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const seed = options.seed ?? 1;
  const io = options.io ?? 'redis';
  const lockDurationMs = options.lockDurationMs ?? 2_000;
  const log = options.log ?? (() => {});
  const t0 = Date.now();
  const stamp = (line: string) => log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  const graph = buildSoakGraph(options.steps, seed);
  const warning = staleBuildWarning();
  if (warning) log(warning);

  const dir = mkdtempSync(join(tmpdir(), 'stepwise-soak-'));
  const home = join(dir, 'home');
  const ioDir = join(home, 'io');
  const logDir = join(dir, 'logs');
  for (const d of [home, logDir, join(dir, 'redis')]) mkdirSync(d, { recursive: true });
  // AOF fsynced on every write: a graceful restart loses nothing the soak's processes were told was written.
  const redis: RedisServer = await startRedisServer({
    dir: join(dir, 'redis'),
    appendonly: true,
    appendfsync: 'always',
    logFile: join(dir, 'redis', 'redis.log'),
    startTimeoutMs: 15_000,
  });
  const prefix = uniquePrefix('soak');
  const queue = { redisUrl: redis.url, prefix, lockDurationMs };
  // JSON is YAML: `stepwise runs show` / `stepwise resume` with STEPWISE_HOME=<home> see the same instance.
  writeFileSync(
    join(home, 'stepwise.yaml'),
    JSON.stringify({
      storage: { sqlite: { dir: join(home, 'storage') } },
      io: io === 'redis' ? { redis: { url: redis.url, prefix } } : { fs: { dir: ioDir } },
      computeLogs: { memory: {} },
      execution: { queue },
    }),
  );
  const env = { [STEPS_ENV]: String(options.steps), [SEED_ENV]: String(seed), STEPWISE_HOME: home };
  stamp(
    `soak: ${graph.steps.length} steps per run (${graph.name}), ${options.seconds} s, seed ${seed}, io ${io}, dir ${dir}, redis ${redis.url}`,
  );

  const resumeAvailable = findResumeRun() !== undefined;
  const wantCoordinatorKill = options.coordinatorKill ?? 'auto';
  const coordinatorKill = wantCoordinatorKill === true || (wantCoordinatorKill === 'auto' && resumeAvailable);
  if (wantCoordinatorKill === 'auto' && !resumeAvailable) log('coordinator kill: skipped (no resume yet)');
  const coordinatorFreeze = coordinatorKill && (options.coordinatorFreeze ?? true);

  const instance = await Instance.local(home);
  const pool = new WorkerPool({
    file: join(HERE, 'pipeline.ts'),
    redisUrl: redis.url,
    prefix,
    size: options.workers ?? 4,
    concurrency: options.concurrency ?? 4,
    lockDurationMs,
    logDir,
    env,
    log: stamp,
  });
  let current: CoordinatorRun | undefined;
  let jobs: Queue | undefined;
  let jobsConnection: ReturnType<typeof createRedis> | undefined;
  const injector = new FaultInjector(
    {
      killEveryMs: options.killEveryMs ?? 4_000,
      freezes: options.freezes ?? 1,
      freezeMs: options.freezeMs ?? 2 * lockDurationMs + 1_000,
      redisRestart: options.redisRestart ?? true,
      redisDownMs: options.redisDownMs ?? 1_000,
      coordinatorKill,
      coordinatorDownMs: options.coordinatorDownMs ?? 2_000,
      // Needs a resume as the kill does.
      coordinatorFreeze,
    },
    {
      pool,
      redis,
      coordinator: () => current,
      leaseEpoch: async (runId) => (await instance.storage.getLease(runId))?.epoch ?? 0,
      waitingJobs: () => {
        jobsConnection ??= createRedis({ url: redis.url, name: 'soak-faults' });
        jobs ??= new Queue('default', { connection: jobsConnection, prefix });
        return jobs.getWaitingCount();
      },
    },
    seededRandom(seed ^ 0x5eed),
    stamp,
  );

  const runIds: string[] = [];
  const stuckRuns: string[] = [];
  const runErrors: string[] = [];
  const runTimeoutMs = options.runTimeoutMs ?? 120_000 + 25 * options.steps;
  const newRun = (runId: string) =>
    new CoordinatorRun({
      script: join(HERE, 'coordinator.ts'),
      cwd: ROOT,
      home,
      runId,
      redisUrl: redis.url,
      prefix,
      lockDurationMs,
      env,
      logFile: join(logDir, 'coordinator.log'),
    });
  let dataLoss: DataLossRound | undefined;
  // The verdict, from storage alone: the runs are checked before the data-loss run flushes their outputs.
  const invariants = new Invariants();
  defineInvariants(invariants, { watchStaleOutputs: io === 'fs' });
  const perRun: RunFigures[] = [];
  try {
    for (let i = 0; i < (options.workers ?? 4); i++) pool.spawn();
    const wanted = options.workers ?? 4;
    await waitUntil(() => pool.live().filter((w) => w.ready).length >= wanted, 60_000, `${wanted} workers`, 100).catch(
      (error: Error) => {
        const tails = [...pool.workers].map((w) => `${w.name}: ${w.tail.slice(-500)}`).join('\n');
        throw new Error(`${error.message}:\n${tails}`);
      },
    );
    stamp(`${options.workers ?? 4} workers ready`);
    injector.start();

    const deadline = t0 + options.seconds * 1_000;
    do {
      const runId = randomUUID();
      runIds.push(runId);
      const run = newRun(runId);
      current = run;
      stamp(`run ${runIds.length} (${runId}) starting`);
      run.start();
      const succeeded = new Set<string>();
      let cursor = 0;
      let lastPrint = Date.now();
      const poll = setInterval(() => {
        void instance.storage.getEvents(runId, { afterSeq: cursor, types: ['STEP_SUCCESS'] }).then(
          (events) => {
            for (const e of events) {
              cursor = Math.max(cursor, e.seq);
              if (e.stepKey !== undefined) succeeded.add(e.stepKey);
            }
            injector.progress(succeeded.size / graph.steps.length);
            if (Date.now() - lastPrint >= 10_000) {
              lastPrint = Date.now();
              const c = injector.counts;
              stamp(
                `run ${runIds.length}: ${succeeded.size}/${graph.steps.length} steps; workers live ${pool.live().length}; kills ${c['worker-kill']}, freezes ${c['worker-freeze']}, redis restarts ${c['redis-restart']}, coordinator restarts ${c['coordinator-restart']}`,
              );
            }
          },
          () => {},
        );
      }, 500);
      let end: Awaited<typeof run.done> | 'timeout';
      try {
        end = await withinOrTimeout(run.done, runTimeoutMs);
      } catch (error) {
        runErrors.push(`run ${runId}: ${(error as Error).message}`);
        stamp(`run ${runIds.length} failed: ${(error as Error).message}`);
        break;
      } finally {
        clearInterval(poll);
        if (current === run) current = undefined;
      }
      if (end === 'timeout') {
        stuckRuns.push(runId);
        stamp(`run ${runIds.length} is stuck: not finished after ${runTimeoutMs} ms (${succeeded.size} steps done)`);
        await run.stop();
        break;
      }
      await run.stop();
      stamp(`run ${runIds.length} ended ${end.status} ${JSON.stringify(end.counts ?? {})}`);
      if (end.status !== 'SUCCESS') break;
    } while (Date.now() < deadline);
    for (const runId of runIds) perRun.push(await checkRun(instance, instance.io, graph, runId, invariants));
    if ((options.dataLoss ?? true) && runErrors.length === 0 && stuckRuns.length === 0) {
      const args = {
        instance,
        redisUrl: redis.url,
        steps: graph.steps.length,
        at: 0.3,
        timeoutMs: runTimeoutMs,
        stamp,
      };
      dataLoss = await dataLossRound({ ...args, newRun: () => newRun(randomUUID()) });
    }
  } finally {
    await injector.stop();
    await jobs?.close();
    jobsConnection?.disconnect();
    await current?.stop();
    await pool.close();
  }

  invariants.define('faults-injected', 'every planned fault happened at least once (kills: at least one)');
  invariants.define('workers-survived', 'no worker that had started died on its own (only the soak kills workers)');
  if (coordinatorFreeze) defineFrozenCoordinatorInvariant(invariants);
  await checkFrozenCoordinators(instance, injector.frozenCoordinators, invariants);
  if (dataLoss) defineDataLossInvariants(invariants);
  if (dataLoss) await checkDataLoss(instance, dataLoss, invariants);
  const planned = injector.planned;
  for (const kind of Object.keys(planned) as FaultKind[]) {
    if (planned[kind] === 0) continue;
    const done = injector.counts[kind];
    invariants.check('faults-injected', done >= planned[kind], () => `${kind}: planned ${planned[kind]}, done ${done}`);
  }
  for (const error of injector.errors) invariants.check('faults-injected', false, () => error);
  const crashed = pool.unexpectedExits.filter((exit) => exit.wasReady);
  for (let i = 0; i < pool.spawned - crashed.length; i++) invariants.check('workers-survived', true);
  for (const exit of crashed) {
    invariants.check(
      'workers-survived',
      false,
      () => `${exit.name} exited (code ${exit.code}, signal ${exit.signal}): ${exit.tail.slice(-300)}`,
    );
  }
  await instance.close();
  await redis.stop();

  const wallMs = Date.now() - t0;
  const sum = (f: (r: RunFigures) => number) => perRun.reduce((a, r) => a + f(r), 0);
  const engineEvents: Record<string, number> = {};
  for (const r of perRun)
    for (const [k, v] of Object.entries(r.engineEvents)) engineEvents[k] = (engineEvents[k] ?? 0) + v;
  const stepsSucceeded = perRun.filter((r) => r.status === 'SUCCESS').length * graph.steps.length;
  const figures: SoakFigures = {
    wallMs,
    runs: runIds.length,
    stepsPerRun: graph.steps.length,
    stepsSucceeded,
    stepsPerSecond: stepsSucceeded / (wallMs / 1000),
    faults: { ...injector.counts },
    coordinatorKill:
      wantCoordinatorKill === false
        ? 'off'
        : !coordinatorKill
          ? 'skipped (no resume yet)'
          : injector.counts['coordinator-restart'] > 0
            ? 'done'
            : 'not reached',
    unexpectedWorkerExits: pool.unexpectedExits,
    stepsWithRetries: sum((r) => r.stepsWithRetries),
    maxAttempt: Math.max(0, ...perRun.map((r) => r.maxAttempt)),
    staleEvents: sum((r) => r.staleEvents),
    staleSuccesses: sum((r) => r.staleSuccesses),
    outputsFromLaterAttempt: sum((r) => r.outputsFromLaterAttempt),
    events: sum((r) => r.events),
    engineEvents,
    stuckRuns,
    runErrors,
    perRun,
  };
  const passed = invariants.passed && stuckRuns.length === 0 && runErrors.length === 0;
  const lines = [...formatInvariants(invariants.list()), ...summaryLines(figures, passed)];
  if (dataLoss) lines.push(dataLossLine(dataLoss));
  const keep = options.keep ?? 'on-failure';
  const kept = keep === 'always' || (keep === 'on-failure' && !passed);
  if (!kept) rmSync(dir, { recursive: true, force: true });
  else {
    lines.push(`kept: ${dir} (instance: STEPWISE_HOME=${home}; logs: ${logDir})`);
    lines.push(`a run's events: npx tsx --conditions=source scripts/soak/timeline.ts ${home} RUN_ID [STEP_KEY ...]`);
  }
  return { passed, invariants: invariants.list(), figures, dir: kept ? dir : undefined, lines };
}

function summaryLines(f: SoakFigures, passed: boolean): string[] {
  const n = (x: number) => x.toLocaleString('en-US');
  const crashes = f.unexpectedWorkerExits.filter((e) => e.wasReady).length;
  const startFailures = f.unexpectedWorkerExits.length - crashes;
  const lines = [
    `soak ${passed ? 'PASSED' : 'FAILED'}: ${f.runs} run(s) of ${n(f.stepsPerRun)} steps, ${n(f.stepsSucceeded)} steps succeeded in ${(f.wallMs / 1000).toFixed(1)} s (${f.stepsPerSecond.toFixed(1)} steps/s)`,
    `faults: ${f.faults['worker-kill']} worker kills, ${f.faults['worker-freeze']} worker freezes, ${f.faults['redis-restart']} Redis restarts, ${f.faults['coordinator-freeze']} coordinator freezes, ${f.faults['coordinator-restart']} coordinator restarts (coordinator kill: ${f.coordinatorKill})`,
    `attempts: ${n(f.stepsWithRetries)} steps ran more than once (max attempt ${f.maxAttempt}); ${n(f.staleEvents)} stale-attempt events recorded (${n(f.staleSuccesses)} STEP_SUCCESS) and ignored; ${n(f.outputsFromLaterAttempt)} outputs from a later attempt than the applied one; ${n(f.events)} events stored`,
    `engine events: ${
      Object.entries(f.engineEvents)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }; workers that died on their own: ${crashes} (plus ${startFailures} that failed to start)`,
  ];
  if (f.stuckRuns.length > 0) lines.push(`stuck runs: ${f.stuckRuns.join(', ')}`);
  for (const e of f.runErrors) lines.push(`run error: ${e}`);
  return lines;
}
