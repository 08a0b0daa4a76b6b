/**
 * Where the queue executor's time goes: runs W1 through the queue executor with 2 `stepwise worker` processes and
 * CPU-profiles both sides of the same runs:
 *  - the coordinator (this process) with the inspector's Profiler, started after a warm-up run, so the profile
 *    holds the timed runs only;
 *  - the first worker with `node --cpu-prof` (Node 20 refuses it in NODE_OPTIONS); its profile is cut to the same window, by the
 *    monotonic clock both processes share, so its startup is left out.
 * Prints Markdown tables (top self time by function, by file/package, and Stepwise's own functions by total time)
 * and keeps the raw .cpuprofile files in the directory it names (open them in Chrome DevTools or speedscope).
 *
 * Run: `npm run build && npx tsx bench/profile-queue.ts [--workload W1|W2|W3] [--runs N] [--out DIR]`.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startRedisServer } from '@stepwise/testing';
import { type CpuProfile, markdownRows, summarizeProfile, topByTotal } from './cpuprofile-summary.js';
import { runQueueOnce } from './queue-bench.js';
import { W1, W2, W3 } from './queue-workloads.js';
import { WorkerSet } from './worker-set.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const workload = opt('--workload') ?? 'W1';
const runs = Number(opt('--runs') ?? 3);
const pipelines = { W1, W2, W3 } as const;
const pipeline = pipelines[workload as keyof typeof pipelines];
if (!pipeline) {
  console.error(`profile-queue: unknown workload '${workload}' (W1, W2 or W3)`);
  process.exit(2);
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const ownCode = (where: string) => where.startsWith('@stepwise/');

async function main(): Promise<void> {
  const out = resolve(opt('--out') ?? (await mkdtemp(join(tmpdir(), 'stepwise-profile-'))));
  mkdirSync(out, { recursive: true });
  const redis = await startRedisServer();
  const prefix = `prof${process.pid}`;
  let workers: WorkerSet | undefined;
  try {
    workers = await WorkerSet.start({
      redisUrl: redis.url,
      prefix,
      count: 2,
      concurrency: 8,
      firstNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${out}`, '--cpu-prof-name=worker-0.cpuprofile'],
    });
    // Warm-up: JIT of both sides, connections, BullMQ scripts loaded.
    await runQueueOnce(pipeline, redis.url, prefix);

    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const fromUs = nowUs();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push((await runQueueOnce(pipeline, redis.url, prefix)).wallMs);
    const toUs = nowUs();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    session.disconnect();
    writeFileSync(join(out, 'coordinator.cpuprofile'), JSON.stringify(profile));

    await workers.stop();
    workers = undefined;
    const workerFile = readdirSync(out).find((f) => f.startsWith('worker-0'));
    if (!workerFile) throw new Error(`the profiled worker wrote no profile into ${out}`);
    const wp = JSON.parse(readFileSync(join(out, workerFile), 'utf8')) as CpuProfile;
    // The worker profile's clock must be the one of hrtime for the window cut to be right; check it overlaps.
    const overlaps = wp.startTime <= toUs && wp.endTime >= fromUs;

    const steps = pipeline.nodes.size;
    console.log(
      `# queue executor profile: ${workload} (${steps} steps), ${runs} runs: ${times.map((t) => t.toFixed(0)).join(' / ')} ms` +
        ` (${times.map((t) => Math.round((steps / t) * 1000)).join(' / ')} steps/s)\n`,
    );
    const coord = summarizeProfile(profile, { top: 25 });
    console.log(`## coordinator: ${coord.busyMs.toFixed(0)} ms busy of ${coord.windowMs.toFixed(0)} ms\n`);
    console.log(markdownRows(coord.byFunction));
    console.log('');
    console.log(markdownRows(coord.byFile.slice(0, 15), 'file / package'));
    console.log('\nStepwise functions by total (inclusive) time:\n');
    console.log(markdownRows(topByTotal(profile, ownCode, { top: 20 })));

    const window = overlaps ? { fromUs, toUs } : {};
    const work = summarizeProfile(wp, { ...window, top: 25 });
    console.log(
      `\n## worker 0 (1 of 2): ${work.busyMs.toFixed(0)} ms busy of ${work.windowMs.toFixed(0)} ms` +
        (overlaps
          ? ' (cut to the coordinator profile window)'
          : ' (WHOLE process: the window did not overlap its clock)') +
        '\n',
    );
    console.log(markdownRows(work.byFunction));
    console.log('');
    console.log(markdownRows(work.byFile.slice(0, 15), 'file / package'));
    console.log('\nStepwise functions by total (inclusive) time:\n');
    console.log(markdownRows(topByTotal(wp, ownCode, { ...window, top: 20 })));
    console.log(`\nraw profiles: ${out}`);
  } finally {
    await workers?.stop();
    await redis.stop();
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 1_000).unref(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
