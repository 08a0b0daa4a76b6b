// The worker's clocks of heavy steps, driven by hand: loop lag from late ticks, and a step's abort and grace.
import { describe, expect, it } from 'vitest';
import { LoopLag } from '../src/loop-lag.js';
import { StepWatch } from '../src/step-watch.js';

describe('LoopLag', () => {
  it('notes how late its ticks come and the longest blocked stretch since a time', () => {
    let now = 1_000;
    let cpu = 0;
    const lag = new LoopLag({ now: () => now, cpuMs: () => cpu, sampleMs: 100 });
    lag.start();
    lag.stop();
    now += 100;
    lag.tick();
    expect(lag.currentMs).toBe(0);
    now += 7_100; // the loop was blocked for 7 s, computing
    cpu += 7_000;
    lag.tick();
    expect(lag.currentMs).toBe(7_000);
    expect(lag.longestSince(1_000)).toBe(7_000);
    now += 100;
    lag.tick();
    expect(lag.longestSince(now - 50)).toBe(0);
    expect(lag.readPeak()).toBe(7_000);
    expect(lag.readPeak()).toBe(0);
    // A stretch still going on counts too.
    now += 3_100;
    expect(lag.longestSince(now)).toBe(3_000);
    lag.tick();
    // That one spent no CPU: a frozen process (SIGSTOP, a paused VM), late but not blocked.
    expect(lag.longestSince(now - 1)).toBe(3_000);
    expect(lag.longestSince(now - 1, true)).toBe(0);
    expect(lag.longestSince(1_000, true)).toBe(7_000);
  });
});

function fakeTimers() {
  const pending = new Map<number, { at: number; fn: () => void }>();
  let now = 0;
  let next = 1;
  return {
    timers: {
      set: (fn: () => void, ms: number) => {
        pending.set(next, { at: now + ms, fn });
        return next++;
      },
      clear: (handle: unknown) => void pending.delete(handle as number),
    },
    advance(ms: number) {
      now += ms;
      for (const [id, t] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at <= now && pending.delete(id)) t.fn();
      }
    },
  };
}

describe('StepWatch', () => {
  it('aborts a canceled step at once and calls it overdue a grace later', () => {
    const clock = fakeTimers();
    const cancel = new AbortController();
    const overdue: string[] = [];
    const watch = new StepWatch({
      stepKey: 's',
      cancel: cancel.signal,
      graceMs: 1_000,
      timers: clock.timers,
      onOverdue: (cause) => overdue.push(cause.kind),
    });
    watch.started();
    cancel.abort(new Error('the run was canceled'));
    expect(watch.signal.aborted).toBe(true);
    clock.advance(999);
    expect(overdue).toEqual([]);
    clock.advance(1);
    expect(overdue).toEqual(['canceled']);
  });

  it('times a step from its start, and a step that ends in time is never overdue', () => {
    const clock = fakeTimers();
    const overdue: string[] = [];
    const make = () =>
      new StepWatch({
        stepKey: 's',
        cancel: new AbortController().signal,
        timeout: { ms: 500, source: "op 's' timeoutMs" },
        graceMs: 100,
        timers: clock.timers,
        onOverdue: (cause) => overdue.push(cause.kind),
      });
    const waiting = make();
    clock.advance(10_000); // waiting for a pool member to load: not timed
    expect(waiting.signal.aborted).toBe(false);
    waiting.started();
    clock.advance(500);
    expect(String(waiting.signal.reason)).toMatch(/exceeded its timeout of 500 ms \(op 's' timeoutMs\)/);
    clock.advance(100);
    expect(overdue).toEqual(['timeout']);
    const quick = make();
    quick.started();
    clock.advance(499);
    quick.dispose();
    clock.advance(1_000);
    expect(quick.signal.aborted).toBe(false);
    expect(overdue).toEqual(['timeout']);
  });
});
