/**
 * `npm run bench`: the benchmark suite (issues 2, 3 and 5). Loopback only: a private redis-server on a free port,
 * PostgreSQL at $DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) in a random schema dropped after,
 * temp dirs removed. Prints tables and writes bench/results.json.
 *
 *   npm run bench                 the full suite (a few minutes)
 *   npm run bench -- --quick      a smoke run: small workloads, 1 repetition; writes to the temp dir, not results.json
 *   npm run bench -- --out FILE   write the JSON elsewhere
 *   npm run bench -- --only queue,rss   run only these sections (plans, inprocess, storage, queue, rss, daemon, fanout,
 *                                 bigfanout, scheduler, ui, heavy); the
 *                                 others are null in the JSON, written to the temp dir unless --out is given
 *
 * The script builds first (`tsc -b`) and runs on the built packages, as the `stepwise worker` processes do, so
 * the coordinator and the workers run the same code. Profile of the queue path: bench/profile-queue.ts.
 *
 * Sections: plan building (1k/10k/100k steps), the in-process executor (W1, W2, W3, 10k no-ops), storage
 * (10k no-ops on memory / SQLite / PostgreSQL), the queue executor with 2 `stepwise worker` processes against the
 * bare BullMQ floor (W1, W2, W3), the coordinator's peak RSS during a 100k-step queue run and during a 20,000-item
 * dynamic fan-out (Redis and fs IO), the daemon (submit → STARTED latency per run launcher, runs/s through the run
 * queue), and the scheduler (1,000 `* * * * *` schedules in one daemon: each tick's lateness, CPU per tick).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { PipelineDefinition } from '@stepwise/core';
import { startRedisServer } from '@stepwise/testing';
import pg from 'pg';
import { type BigFanOutFigures, benchBigFanOut } from './big-fan-out-bench.js';
import { type LatencyFigures, measureLatency, measureThroughput, type ThroughputFigures } from './daemon-bench.js';
import { type FanOutFigures, measureFanOuts } from './fanout-bench.js';
import { benchHeavy, type HeavyFigures } from './heavy-bench.js';
import { measureInProcess } from './inprocess-bench.js';
import { measurePlanBuild, type PlanBuildTiming } from './plan-build.js';
import { benchQueue, measureCoordinatorRss, type RssFigures, type WorkloadQueueResult } from './queue-bench.js';
import { dags, QUICK, W1, W1_quick, W2, W2_quick, W3, W3_quick, WIDE_STEPS_ENV } from './queue-workloads.js';
import { measureScheduler, type SchedulerFigures } from './scheduler-bench.js';
import { formatTable, round, type Throughput } from './stats.js';
import { benchStorage, type StorageFigures } from './storage-bench.js';
import { measureUi, type UiFigures } from './ui-bench.js';
import { WorkerSet } from './worker-set.js';
import { type Dag, dagPipeline, w1 } from './workloads.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIndex = args.indexOf('--out');
const outFile =
  outIndex >= 0 && args[outIndex + 1]
    ? (args[outIndex + 1] as string)
    : quick || args.includes('--only')
      ? join(tmpdir(), quick ? 'stepwise-bench-quick.json' : 'stepwise-bench-only.json')
      : fileURLToPath(new URL('./results.json', import.meta.url));
const SECTIONS = [
  'plans',
  'inprocess',
  'storage',
  'queue',
  'rss',
  'daemon',
  'fanout',
  'bigfanout',
  'scheduler',
  'ui',
  'heavy',
] as const;
type SectionId = (typeof SECTIONS)[number];
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? '').split(',').filter(Boolean) : [...SECTIONS];
const unknown = args.filter(
  (a, i) => !['--quick', '--out', '--only'].includes(a) && !['--out', '--only'].includes(args[i - 1] ?? ''),
);
const badSections = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
if (unknown.length > 0 || badSections.length > 0 || only.length === 0) {
  console.error(
    `bench: unknown argument(s) ${[...unknown, ...badSections].join(' ') || '(empty --only)'}; usage: npm run bench ` +
      `[-- --quick] [-- --out FILE] [-- --only ${SECTIONS.join(',')}]`,
  );
  process.exit(2);
}
const wanted = (id: SectionId) => only.includes(id);

const REPETITIONS = quick ? 1 : 3;
/** The quick run skips warm-ups: it checks that every path works, its figures are not for comparison. */
const WARMUP = !quick;
/** Steps of the quick run's coordinator-RSS pipeline (its workers are started with it from the beginning). */
const QUICK_RSS_STEPS = 2_000;
const POSTGRES_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
/** The coordinator-RSS run: 100k steps unless that would take more than this at the measured W1 queue speed. */
const RSS_TARGET_STEPS = 100_000;
const RSS_MAX_EXPECTED_S = 180;
/** When 100k does not fit: the largest size expected to take at most this long. */
const RSS_FALLBACK_BUDGET_S = 120;

// With a gc() at hand, plan timings do not pay for the previous section's garbage (see plan-build.ts).
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: unknown }).gc = runInNewContext('gc');
}

const log = (line: string) => console.log(line);
const errors: Record<string, string> = {};
const started = Date.now();

async function section<T>(id: SectionId, name: string, body: () => Promise<T>): Promise<T | undefined> {
  if (!wanted(id)) return undefined;
  const t0 = performance.now();
  log(`\n== ${name}`);
  try {
    const value = await body();
    log(`   (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return value;
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    errors[name] = message;
    console.error(`bench: section '${name}' failed: ${message}`);
    return undefined;
  }
}

function version(cmd: string, argv: string[]): string {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    return 'unknown';
  }
}

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    const res = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return res.rows[0]?.v ?? 'unknown';
  } catch (err) {
    return `unreachable (${(err as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<number> {
  const cpu = cpus();
  const machine = {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    redis: version('redis-server', ['--version']),
    postgres: await postgresVersion(),
    commit: version('git', ['rev-parse', '--short', 'HEAD']),
    /** Uncommitted changes under packages/ were built and measured too. */
    packagesDirty: version('git', ['status', '--porcelain', '--', 'packages']) !== '',
    date: new Date().toISOString(),
    /** 1/5/15-minute load averages at the start and the end: other work on the machine skews every figure. */
    loadAverageStart: loadavg().map((v) => round(v, 2)),
    loadAverageEnd: [] as number[],
  };
  log(
    `stepwise bench${quick ? ' --quick' : ''}: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}, commit ${machine.commit}`,
  );
  log(
    `repetitions: ${WARMUP ? 'warm-up + ' : ''}${REPETITIONS}, median; load average ${machine.loadAverageStart.join(' ')}`,
  );

  // 1. Plans.
  const plans = await section('plans', 'plans: pipeline() and buildPlan()', async () => {
    measurePlanBuild(1_000, 'linear');
    measurePlanBuild(1_000, 'wide');
    const timings: PlanBuildTiming[] = [];
    for (const n of quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]) {
      for (const shape of ['linear', 'wide'] as const) timings.push(measurePlanBuild(n, shape));
    }
    log(
      formatTable([
        ['steps', 'shape', 'pipeline() ms', 'buildPlan() ms'],
        ...timings.map((t) => [int(t.steps), t.shape, t.pipelineMs.toFixed(1), t.planMs.toFixed(1)]),
      ]),
    );
    return timings;
  });
  const plan100k = plans?.filter((t) => t.steps === 100_000) ?? [];
  const planBuild100k = plan100k.length ? Math.max(...plan100k.map((t) => t.planMs)) : null;

  // 2. In-process.
  const w = quick
    ? { W1: W1_quick, W2: W2_quick, W3: W3_quick }
    : ({ W1, W2, W3 } as Record<'W1' | 'W2' | 'W3', PipelineDefinition>);
  const dagOf: Record<'W1' | 'W2' | 'W3', Dag> = quick
    ? { W1: QUICK.W1, W2: QUICK.W2, W3: QUICK.W3 }
    : { W1: dags.W1 as Dag, W2: dags.W2 as Dag, W3: dags.W3 as Dag };
  const noopSteps = quick ? 1_000 : 10_000;
  const noop = dagPipeline({ name: 'noop', steps: w1(noopSteps - 1).steps }, `noop_${noopSteps}`);
  const inProcess = await section('inprocess', 'in-process executor (ephemeral instance)', async () => {
    const out: Record<string, Throughput> = {};
    for (const [label, p] of [...Object.entries(w), [`${noopSteps} no-ops`, noop] as const]) {
      out[label] = await measureInProcess(p, REPETITIONS, label, WARMUP);
    }
    log(
      formatTable([
        ['workload', 'steps', 'steps/s', 'ms/step', 'runs ms'],
        ...Object.values(out).map((t) => [
          t.workload,
          int(t.steps),
          int(t.stepsPerSec),
          t.msPerStep.toFixed(4),
          t.runsMs.map((ms) => ms.toFixed(0)).join(' / '),
        ]),
      ]),
    );
    return out;
  });

  // 3. Storage.
  const storage = await section('storage', `storage: ${int(noopSteps)} no-op steps in-process`, async () => {
    const figures = await benchStorage(noop, { postgresUrl: POSTGRES_URL, repetitions: REPETITIONS, warmup: WARMUP });
    log(
      formatTable([
        ['storage', 'events', 'ms', 'steps/s', 'events/s', 'vs memory', 'runs ms'],
        ...figures.map((f) => [
          f.backend,
          int(f.events),
          f.ms.toFixed(0),
          int(f.stepsPerSec),
          int(f.eventsPerSec),
          `${f.vsMemory.toFixed(2)}x`,
          f.runsMs.map((ms) => ms.toFixed(0)).join(' / '),
        ]),
      ]),
    );
    return figures;
  });

  // 4 and 5. Queue executor vs floor, then coordinator RSS.
  const redis = await startRedisServer();
  const prefix = `bench${process.pid}`;
  let queue: Map<string, WorkloadQueueResult> | undefined;
  let rssRuns: { runs: RssFigures[]; note?: string } | undefined;
  let daemon: { latency: LatencyFigures[]; throughput: ThroughputFigures[] } | undefined;
  let fanOut: FanOutFigures[] | undefined;
  let heavy: HeavyFigures | undefined;
  let bigFanOut: BigFanOutFigures[] | undefined;
  // The quick run starts its workers once, with the small RSS pipeline already in them.
  let quickWorkers: WorkerSet | undefined;
  try {
    if (quick) {
      quickWorkers = await WorkerSet.start({
        redisUrl: redis.url,
        prefix,
        count: 2,
        concurrency: 8,
        env: { [WIDE_STEPS_ENV]: String(QUICK_RSS_STEPS) },
      });
    }
    log(`\nredis-server ${redis.url}`);
    queue = await section('queue', 'queue executor (2 stepwise workers x 8) vs bare BullMQ floor (2 x 8)', async () => {
      const result = await benchQueue({
        redisUrl: redis.url,
        prefix,
        repetitions: REPETITIONS,
        warmup: WARMUP,
        workers: quickWorkers,
        workloads: (['W1', 'W2', 'W3'] as const).map((label) => ({ label, pipeline: w[label], dag: dagOf[label] })),
        onProgress: log,
      });
      log(
        formatTable([
          [
            'workload',
            'steps',
            'queue steps/s',
            'queue ms/step',
            'to last step steps/s',
            'floor steps/s',
            'floor ms/step',
            'queue/floor',
          ],
          ...[...result].map(([label, r]) => [
            label,
            int(r.queue.steps),
            int(r.queue.stepsPerSec),
            r.queue.msPerStep.toFixed(3),
            int(r.queue.toLastStep.stepsPerSec),
            int(r.floor.stepsPerSec),
            r.floor.msPerStep.toFixed(3),
            (r.queue.stepsPerSec / r.floor.stepsPerSec).toFixed(3),
          ]),
        ]),
      );
      return result;
    });

    rssRuns = await section('rss', 'coordinator RSS during a large queue run', async () => {
      let steps = quick ? QUICK_RSS_STEPS : RSS_TARGET_STEPS;
      let note: string | undefined;
      const rate = queue?.get('W1')?.queue.stepsPerSec;
      if (!quick && rate !== undefined && RSS_TARGET_STEPS / rate > RSS_MAX_EXPECTED_S) {
        const fits = Math.floor((rate * RSS_FALLBACK_BUDGET_S) / 10_000) * 10_000;
        steps = Math.max(10_000, Math.min(RSS_TARGET_STEPS, fits));
        note = `100,000 steps would take about ${Math.round(RSS_TARGET_STEPS / rate)} s at the measured W1 queue speed (${Math.round(rate)} steps/s); ran ${steps.toLocaleString('en-US')} steps instead (about ${RSS_FALLBACK_BUDGET_S} s budget)`;
        log(`   ${note}`);
      }
      const expectedS = rate ? steps / rate : 120;
      // SQLite (stepwise.yaml's default storage) is the figure; in-memory storage keeps the whole event log in the
      // coordinator on top.
      const runs: RssFigures[] = [];
      // SQLite, the figure, runs 3 times (median by peak RSS; the runs move by ±30 MB); in-memory storage once.
      for (const [storage, repetitions] of [
        ['sqlite', quick ? 1 : 3],
        ['memory', 1],
      ] as const) {
        const measured: RssFigures[] = [];
        for (let r = 0; r < repetitions; r++) {
          const figures = await measureCoordinatorRss({
            redisUrl: redis.url,
            prefix: `${prefix}rss${storage}${r}`,
            steps,
            storage,
            timeoutMs: Math.min(600_000, Math.max(60_000, expectedS * 3_000)),
            workers: quickWorkers,
          });
          log(
            `   ${storage} storage: ${int(figures.steps)} steps in ${(figures.wallMs / 1000).toFixed(1)} s (${int(figures.stepsPerSec)} steps/s): ` +
              `peak RSS ${figures.peakRssMB.toFixed(0)} MB (sampled every 100 ms; ru_maxrss ${figures.maxRssMB.toFixed(0)} MB), ` +
              `RSS before the run ${figures.baselineRssMB.toFixed(0)} MB, peak heap used ${figures.peakHeapUsedMB.toFixed(0)} MB; ` +
              `at the RSS peak (${Math.round(figures.peakAtFraction * 100)}% of the run): heap ${figures.atPeakMB.heapUsed.toFixed(0)} used of ${figures.atPeakMB.heapTotal.toFixed(0)}, ` +
              `external ${figures.atPeakMB.external.toFixed(0)} (array buffers ${figures.atPeakMB.arrayBuffers.toFixed(0)})`,
          );
          measured.push(figures);
        }
        const sorted = [...measured].sort((a, b) => a.peakRssMB - b.peakRssMB);
        const mid = sorted[Math.floor(sorted.length / 2)] as RssFigures;
        runs.push({ ...mid, peakRssRunsMB: measured.map((m) => m.peakRssMB) });
      }
      return note ? { runs, note } : { runs };
    });
    bigFanOut = await section('bigfanout', 'a 20,000-item dynamic fan-out on the queue executor, Redis and fs IO', () =>
      benchBigFanOut({ redisUrl: redis.url, prefix: `${prefix}bigfan`, quick, log }),
    );
    // 6. The daemon: a real `stepwise daemon` process per launcher.
    daemon = await section('daemon', 'daemon: submit → STARTED latency and runs/s through the run queue', async () => {
      const samples = quick ? 5 : 40;
      const runs = quick ? 30 : 500;
      const latency: LatencyFigures[] = [];
      // The process launcher twice: back to back (its warm spare process may not be ready yet), and with 10 s
      // between runs (it is).
      for (const [launcher, dequeueIntervalMs, pauseMs] of [
        ['inProcess', 1_000, 0],
        ['inProcess', 50, 0],
        ['process', 50, 0],
        ['process', 50, 10_000],
        ['queue', 50, 0],
      ] as const) {
        const f = await measureLatency(
          { launcher, dequeueIntervalMs, maxConcurrentRuns: 10, redisUrl: redis.url },
          samples,
          pauseMs,
        );
        latency.push(f);
        log(
          `   ${launcher} (dequeueIntervalMs ${dequeueIntervalMs}, ${pauseMs} ms between runs): submit → STARTED median ${f.medianMs} ms, p99 ${f.p99Ms} ms (${f.samples} runs)`,
        );
      }
      const throughput: ThroughputFigures[] = [];
      for (const launcher of ['inProcess', 'process'] as const) {
        const f = await measureThroughput({ launcher, dequeueIntervalMs: 50, maxConcurrentRuns: 10 }, runs);
        throughput.push(f);
        log(
          `   ${launcher}: ${f.runs} one-step runs in ${(f.wallMs / 1000).toFixed(1)} s: ${f.runsPerSec.toFixed(1)} runs/s (maxConcurrentRuns ${f.maxConcurrentRuns})`,
        );
      }
      return { latency, throughput };
    });
    // 7. Mapped vs static fan-outs (issue 22).
    fanOut = await section('fanout', 'queue executor: mapped vs static fan-outs of the same size', async () =>
      measureFanOuts({
        redisUrl: redis.url,
        prefix: `${prefix}fan`,
        sizes: quick ? [1_000] : [10_000, 50_000],
        onProgress: (line) => log(`   ${line}`),
      }),
    );
    // 8. Heavy steps: isolation modes on CPU-bound and no-op steps.
    heavy = await section(
      'heavy',
      'heavy steps: 1 stepwise worker x 2 per isolation mode (none, thread, process)',
      async () => {
        const figures = await benchHeavy({
          redisUrl: redis.url,
          prefix,
          repetitions: REPETITIONS,
          warmup: WARMUP,
          quick,
          cores: cpu.length,
          onProgress: log,
        });
        log(
          formatTable([
            [
              'mode',
              'cpu steps/s',
              'cpu ms/step',
              'vs none',
              'overhead ms/step',
              'W1 steps/s',
              'W3 steps/s',
              'W1 +ms/step',
              'W3 +ms/step',
            ],
            ...figures.modes.map((m) => [
              m.mode,
              m.cpu.stepsPerSec.toFixed(1),
              m.cpu.msPerStep.toFixed(1),
              `${(m.cpuSpeedup ?? 0).toFixed(2)}x`,
              m.cpuOverheadMsPerStep.toFixed(1),
              int(m.noop.W1.stepsPerSec),
              int(m.noop.W3.stepsPerSec),
              (m.noopAddedMsPerStep?.W1 ?? 0).toFixed(3),
              (m.noopAddedMsPerStep?.W3 ?? 0).toFixed(3),
            ]),
          ]),
        );
        return figures;
      },
    );
  } finally {
    await quickWorkers?.stop();
    await redis.stop();
  }
  // 7. The scheduler: one daemon with 1,000 `* * * * *` schedules, for real minutes.
  const scheduler = await section('scheduler', 'scheduler: one daemon with 1,000 * * * * * schedules', async () => {
    const f: SchedulerFigures = await measureScheduler({
      schedules: quick ? 100 : 1_000,
      minutes: quick ? 1 : 3,
      tickIntervalMs: 250,
    });
    log(
      `   ${int(f.ticks)} ticks of ${f.schedules} schedules over ${f.minutes} min (tickIntervalMs ${f.tickIntervalMs}): ` +
        `run stored ${f.latenessMs.median} ms after its instant (median), p99 ${f.latenessMs.p99} ms, max ${f.latenessMs.max} ms; ` +
        `${(f.withinOneSecond * 100).toFixed(1)}% within 1 s; CPU ${f.cpuMsPerTick.toFixed(2)} ms per tick, ` +
        `${f.idleCpuMsPerSec.toFixed(0)} ms/s between instants`,
    );
    return f;
  });
  // 8. The web UI in Chromium (issue 15).
  const ui: UiFigures | undefined = await section(
    'ui',
    'web UI: a 10,000-step run (~40,000 events) in Chromium',
    async () => {
      const f = await measureUi({ liveSeconds: quick ? 3 : 10 });
      log(
        `   first Gantt paint ${f.firstGanttPaintMs} ms (run detail answered at ${f.detailResponseMs} ms), log of ${f.events} events loaded at ${f.logLoadedMs} ms, DOM ${f.domNodes} nodes`,
      );
      log(
        `   scroll end to end: Gantt ${f.scroll.ganttMs} ms, log ${f.scroll.logMs} ms; ${f.scroll.longTasks} long tasks, max ${f.scroll.maxLongTaskMs} ms`,
      );
      log(
        `   live ${f.live.eventsPerSec} events/s for ${f.live.seconds} s: lag p50 ${f.live.lagP50Ms} ms, p95 ${f.live.lagP95Ms} ms, max ${f.live.lagMaxMs} ms`,
      );
      return f;
    },
  );
  machine.loadAverageEnd = loadavg().map((v) => round(v, 2));

  // 6. Summary and JSON.
  const workloads: Record<string, unknown> = {};
  const details: Record<string, unknown> = {};
  for (const label of ['W1', 'W2', 'W3'] as const) {
    const q = queue?.get(label);
    const ip = inProcess?.[label];
    workloads[label] = {
      inProcess: { stepsPerSec: ip ? round(ip.stepsPerSec, 0) : null },
      queue: q ? { stepsPerSec: round(q.queue.stepsPerSec, 0), msPerStep: round(q.queue.msPerStep, 4) } : null,
      bullmqFloor: q ? { stepsPerSec: round(q.floor.stepsPerSec, 0), msPerStep: round(q.floor.msPerStep, 4) } : null,
      queueVsFloor: q ? round(q.queue.stepsPerSec / q.floor.stepsPerSec, 3) : null,
    };
    details[label] = {
      steps: dagOf[label].steps.length,
      inProcessRunsMs: ip?.runsMs.map((v) => round(v, 1)),
      queueRunsMs: q?.queue.runsMs.map((v) => round(v, 1)),
      queueRunWindow: q
        ? {
            what: 'RUN_START to RUN_SUCCESS as received by the coordinator',
            stepsPerSec: round(q.queue.run.stepsPerSec, 0),
            msPerStep: round(q.queue.run.msPerStep, 4),
            runsMs: q.queue.run.runsMs.map((v) => round(v, 1)),
          }
        : null,
      queueToLastStep: q
        ? {
            what: 'RUN_START to the last step event received (the window the floor times; no run teardown)',
            stepsPerSec: round(q.queue.toLastStep.stepsPerSec, 0),
            msPerStep: round(q.queue.toLastStep.msPerStep, 4),
            runsMs: q.queue.toLastStep.runsMs.map((v) => round(v, 1)),
            vsFloor: round(q.queue.toLastStep.stepsPerSec / q.floor.stepsPerSec, 3),
          }
        : null,
      queueMsPerStepVsFloor: q ? round(q.queue.msPerStep / q.floor.msPerStep, 3) : null,
      floorRunsMs: q?.floor.runsMs.map((v) => round(v, 1)),
      floorCpuMs: q
        ? { driver: round(q.floor.cpuMs.driver, 0), workers: q.floor.cpuMs.workers.map((v) => round(v, 0)) }
        : null,
    };
  }
  const noopIp = inProcess?.[`${noopSteps} no-ops`];
  const rss = rssRuns?.runs.find((r) => r.storage === 'sqlite');
  const rssMemory = rssRuns?.runs.find((r) => r.storage === 'memory');
  const results = {
    workloads,
    daemon: daemon ?? null,
    fanOut:
      fanOut?.map((f) => ({
        ...f,
        staticStepsPerSec: round(f.staticStepsPerSec, 0),
        mappedStepsPerSec: round(f.mappedStepsPerSec, 0),
        ratio: round(f.ratio, 3),
      })) ?? null,
    scheduler: scheduler ?? null,
    ui: ui ?? null,
    heavy: heavy ?? null,
    fanOut20k: bigFanOut
      ? Object.fromEntries(
          bigFanOut.map((f) => [
            f.io,
            {
              steps: f.steps,
              wallMs: round(f.wallMs, 0),
              stepsPerSec: round(f.stepsPerSec, 0),
              peakRssMB: round(f.peakRssMB, 1),
            },
          ]),
        )
      : null,
    planBuild100k_ms: planBuild100k === null ? null : round(planBuild100k, 1),
    coordinatorRssMB_100k: rss ? round(rss.peakRssMB, 1) : null,
    coordinatorRss_steps: rss?.steps ?? null,
    ...(rssRuns?.note ? { coordinatorRss_note: rssRuns.note } : {}),
    coordinatorRss: rssRuns
      ? Object.fromEntries(
          rssRuns.runs.map((r) => [
            r.storage,
            {
              steps: r.steps,
              peakRssMB: round(r.peakRssMB, 1),
              peakRssRunsMB: r.peakRssRunsMB?.map((v) => round(v, 1)),
              maxRssMB: round(r.maxRssMB, 1),
              baselineRssMB: round(r.baselineRssMB, 1),
              peakHeapUsedMB: round(r.peakHeapUsedMB, 1),
              peakAtFraction: round(r.peakAtFraction, 2),
              atPeakMB: Object.fromEntries(Object.entries(r.atPeakMB).map(([k, v]) => [k, round(v, 1)])),
              samples: r.samples,
              wallMs: round(r.wallMs, 0),
              stepsPerSec: round(r.stepsPerSec, 0),
            },
          ]),
        )
      : null,
    inProcess10k: noopIp
      ? {
          steps: noopIp.steps,
          stepsPerSec: round(noopIp.stepsPerSec, 0),
          msPerStep: round(noopIp.msPerStep, 4),
          runsMs: noopIp.runsMs.map((v) => round(v, 1)),
        }
      : null,
    storage: storage
      ? Object.fromEntries(
          storage.map((f: StorageFigures) => [
            f.backend,
            {
              config: f.config,
              steps: f.steps,
              events: f.events,
              ms: round(f.ms, 1),
              stepsPerSec: round(f.stepsPerSec, 0),
              eventsPerSec: round(f.eventsPerSec, 0),
              vsMemory: round(f.vsMemory, 3),
              runsMs: f.runsMs.map((v) => round(v, 1)),
            },
          ]),
        )
      : null,
    plans: plans?.map((t) => ({
      steps: t.steps,
      shape: t.shape,
      pipelineMs: round(t.pipelineMs, 1),
      buildPlanMs: round(t.planMs, 1),
    })),
    details,
    settings: {
      quick,
      repetitions: REPETITIONS,
      warmup: WARMUP ? 1 : 0,
      statistic: 'median',
      queueWorkers: { processes: 2, concurrency: 8 },
      floorWorkers: { processes: 2, concurrency: 8 },
      timing:
        'in-process and queue: the whole executePipeline call (loadOutputs: false); details.*.queueRunWindow / queueToLastStep: windows inside the run (see their `what`); floor: first addBulk to last completion read; planBuild100k_ms: the slower buildPlan() of the linear and wide 100k pipelines (pipeline() not included; see plans)',
      queueVsFloor: 'queue stepsPerSec / floor stepsPerSec (for W2 see details.W2.queueMsPerStepVsFloor)',
    },
    machine,
    totalSeconds: round((Date.now() - started) / 1000, 1),
    ...(Object.keys(errors).length ? { errors } : {}),
  };
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);

  log('\n== summary');
  const cell = (v: number | null | undefined, f: (n: number) => string) => (v === null || v === undefined ? '-' : f(v));
  log(
    formatTable([
      [
        'workload',
        'in-process steps/s',
        'queue steps/s',
        'queue ms/step',
        'floor steps/s',
        'floor ms/step',
        'queue/floor',
      ],
      ...(['W1', 'W2', 'W3'] as const).map((label) => {
        const q = queue?.get(label);
        return [
          `${label} (${dagOf[label].steps.length})`,
          cell(inProcess?.[label]?.stepsPerSec, int),
          cell(q?.queue.stepsPerSec, int),
          cell(q?.queue.msPerStep, (n) => n.toFixed(3)),
          cell(q?.floor.stepsPerSec, int),
          cell(q?.floor.msPerStep, (n) => n.toFixed(3)),
          cell(q ? q.queue.stepsPerSec / q.floor.stepsPerSec : undefined, (n) => n.toFixed(3)),
        ];
      }),
    ]),
  );
  log(`planBuild100k_ms ${cell(planBuild100k, (n) => n.toFixed(1))}`);
  log(
    `coordinatorRssMB (${cell(rss?.steps, int)} steps) ${cell(rss?.peakRssMB, (n) => n.toFixed(0))} with SQLite storage ` +
      `(median of ${(rss?.peakRssRunsMB ?? []).map((n) => n.toFixed(0)).join(' / ') || '-'}), ` +
      `${cell(rssMemory?.peakRssMB, (n) => n.toFixed(0))} with in-memory storage`,
  );
  log(`in-process ${int(noopSteps)} no-ops: ${cell(noopIp?.stepsPerSec, int)} steps/s`);
  log(`wrote ${outFile} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  if (Object.keys(errors).length) {
    console.error(`bench: ${Object.keys(errors).length} section(s) failed: ${Object.keys(errors).join(', ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // A library may leave a handle open (a pool timer, a socket); the results are written, so do not hang.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
