/**
 * Where the CPU of a queue run goes, per process: runs a workload through the queue executor (2 `stepwise worker`
 * processes x 8) and then through the bare BullMQ floor, N times each after a warm-up, and prints the CPU time per
 * step of the coordinator (or the floor's driver), of each worker and of redis-server (from /proc, Linux only).
 * On a 2-core machine these four processes share the cores, so CPU per step is what bounds steps/s.
 *
 * Run: `npm run build && npx tsx bench/cpu-per-step.ts [--workload W1|W2|W3] [--runs N]`.
 */
import { readFileSync } from 'node:fs';
import { startRedisServer } from '@stepwise/testing';
import { FloorWorkerPool, runFloor } from './bullmq-floor.js';
import { runQueueOnce } from './queue-bench.js';
import { dags, W1, W2, W3 } from './queue-workloads.js';
import { WorkerSet } from './worker-set.js';
import type { Dag } from './workloads.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const workload = (opt('--workload') ?? 'W3') as 'W1' | 'W2' | 'W3';
const runs = Number(opt('--runs') ?? 5);
const pipeline = { W1, W2, W3 }[workload];
const dag = dags[workload] as Dag | undefined;
if (!pipeline || !dag || !(runs > 0)) {
  console.error('usage: npx tsx bench/cpu-per-step.ts [--workload W1|W2|W3] [--runs N]');
  process.exit(2);
}

/** User + system CPU of a process so far, in ms (clock ticks are 10 ms on Linux). */
function cpuMs(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const redis = await startRedisServer();
const steps = dag.steps.length * runs;
const perStep = (ms: number) => `${((ms * 1000) / steps).toFixed(0)} µs`;
try {
  const prefix = `cpu${process.pid}`;
  const workers = await WorkerSet.start({ redisUrl: redis.url, prefix, count: 2, concurrency: 8 });
  try {
    await runQueueOnce(pipeline, redis.url, prefix);
    const self0 = process.cpuUsage();
    const workers0 = workers.pids.map(cpuMs);
    const redis0 = cpuMs(redis.pid);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await runQueueOnce(pipeline, redis.url, prefix);
    const wall = performance.now() - t0;
    const self = process.cpuUsage(self0);
    console.log(
      `queue ${workload}: ${Math.round((steps / wall) * 1000)} steps/s; CPU per step: coordinator ${perStep((self.user + self.system) / 1000)}, ` +
        `workers ${workers.pids.map((pid, i) => perStep(cpuMs(pid) - (workers0[i] ?? 0))).join(' + ')}, redis ${perStep(cpuMs(redis.pid) - redis0)}`,
    );
  } finally {
    await workers.stop();
  }
  const pool = await FloorWorkerPool.start({ redisUrl: redis.url });
  try {
    await runFloor(dag, { redisUrl: redis.url, pool });
    const redis0 = cpuMs(redis.pid);
    let driver = 0;
    const floorWorkers = [0, 0];
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const r = await runFloor(dag, { redisUrl: redis.url, pool });
      driver += r.cpuMs.driver;
      r.cpuMs.workers.forEach((ms, j) => {
        floorWorkers[j] = (floorWorkers[j] ?? 0) + ms;
      });
    }
    const wall = performance.now() - t0;
    console.log(
      `floor ${workload}: ${Math.round((steps / wall) * 1000)} steps/s; CPU per step: driver ${perStep(driver)}, ` +
        `workers ${floorWorkers.map(perStep).join(' + ')}, redis ${perStep(cpuMs(redis.pid) - redis0)}`,
    );
  } finally {
    await pool.stop();
  }
} finally {
  await redis.stop();
}
