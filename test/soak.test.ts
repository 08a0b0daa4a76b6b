// The short chaos soak of issue 6 (the long one is `npm run soak -- --steps 20000 --seconds 600`): real worker
// processes, their own Redis and SQLite, worker kills, a worker frozen past its lock, a Redis restart and a
// coordinator kill and resume, on a lattice with a large dynamic fan-out; then a run during which Redis loses its
// data (FLUSHDB); then every invariant is checked from storage.
import { describe, expect, it } from 'vitest';
import { runSoak } from '../scripts/soak/run-soak.js';

describe('chaos soak (short)', () => {
  it('loses no step, succeeds each step once, stores every value right and no event twice, under faults', {
    // 35 s of runs, then the data-loss run (FLUSHDB), then the checks.
    timeout: 180_000,
  }, async () => {
    const lines: string[] = [];
    const report = await runSoak({
      steps: 800,
      seconds: 35,
      seed: 6,
      killEveryMs: 3_000,
      io: 'redis',
      freezes: 1,
      redisRestart: true,
      coordinatorKill: 'auto',
      // The long soak (`npm run soak`) freezes a coordinator; here it would hold back the faults behind it.
      coordinatorFreeze: false,
      runTimeoutMs: 50_000,
      keep: 'on-failure',
      log: (line) => lines.push(line),
    });
    const transcript = [...lines, '', ...report.lines].join('\n');
    // The invariant lines and figures, in the test output.
    console.log(report.lines.join('\n'));
    for (const invariant of report.invariants) {
      if (invariant.watch) continue;
      expect(invariant.failed, `${invariant.name} failed:\n${transcript}`).toBe(0);
      expect(invariant.passed, `${invariant.name} was never checked:\n${transcript}`).toBeGreaterThan(0);
    }
    expect(report.figures.stuckRuns, transcript).toEqual([]);
    expect(report.figures.runErrors, transcript).toEqual([]);
    expect(report.figures.faults['worker-kill'], transcript).toBeGreaterThanOrEqual(3);
    expect(report.figures.faults['worker-freeze'], transcript).toBe(1);
    expect(report.figures.faults['redis-restart'], transcript).toBe(1);
    expect(report.figures.faults['coordinator-freeze'], transcript).toBe(0);
    expect(report.figures.stepsSucceeded, transcript).toBeGreaterThanOrEqual(800);
    // The data-loss run has its own invariants (data-loss-*), checked above; it had to happen.
    expect(report.invariants.find((i) => i.name === 'data-loss-ends')?.passed, transcript).toBe(1);
    expect(report.passed, transcript).toBe(true);
  });
});
