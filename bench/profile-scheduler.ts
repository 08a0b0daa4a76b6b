/**
 * Profile of one scheduler pass over N due `* * * * *` schedules (bench/scheduler-schedules.ts), in this process on
 * a temporary SQLite instance, runs stored QUEUED. `tsx --cpu-prof bench/profile-scheduler.ts [N]` for a profile.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Instance, loadDefinitions } from '@stepwise/core';
import { runSchedulerPass, schedulerPassContext } from '@stepwise/daemon';
import { pino } from 'pino';

const n = Number(process.argv[2] ?? 1_000);
process.env.STEPWISE_BENCH_SCHEDULES = String(n);
const home = mkdtempSync(join(tmpdir(), 'stepwise-profile-scheduler-'));
writeFileSync(join(home, 'stepwise.yaml'), 'runCoordinator: { queued: {} }\n');
const instance = await Instance.local(home);
const defs = await loadDefinitions(fileURLToPath(new URL('./scheduler-schedules.ts', import.meta.url)));
const context = schedulerPassContext({
  instance,
  definitions: defs,
  owner: 'profile',
  leaseMs: 30_000,
  logger: pino({ level: 'silent' }),
});
const at = Date.parse('2026-01-01T00:00:00Z');
for (const [label, now] of [
  ['first pass (1 instant each)', at + 100],
  ['idle pass', at + 30_000],
  ['second instant', at + 60_100],
] as const) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const results = await runSchedulerPass({ ...context, schedules: defs.schedules.values(), now });
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${label}: ${results.length} ticks in ${(performance.now() - t0).toFixed(0)} ms, CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`,
  );
}
await instance.close();
rmSync(home, { recursive: true, force: true });
