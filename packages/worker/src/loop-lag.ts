/** How often the loop-lag sampler ticks, in ms. */
const SAMPLE_MS = 100;
/** Gaps kept, newest last: enough to cover any job's lifetime at the lags that matter. */
const KEEP = 256;

/** Share of a late tick's wall time the process spent on CPU above which the loop counts as blocked, not frozen. */
const BUSY_SHARE = 0.025;

export interface LoopLagOptions {
  /** Default Date.now. */
  now?: () => number;
  /** CPU time this process used so far, in ms. Default process.cpuUsage(). */
  cpuMs?: () => number;
  sampleMs?: number;
}

function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * How late this process's event loop runs: a timer that should tick every {@link SAMPLE_MS} ms notes each tick
 * that came late. A worker uses it to tell a lock lost to its own blocked loop (a CPU-bound step on the loop)
 * from one lost to Redis or the network, and to publish the lag as a metric. A late tick the process spent
 * (almost) no CPU on is a frozen process (SIGSTOP, a paused VM), not a blocked loop: isolation would not help it,
 * so it does not count as blocked.
 */
export class LoopLag {
  private readonly now: () => number;
  private readonly cpuMs: () => number;
  private readonly sampleMs: number;
  private timer?: NodeJS.Timeout;
  private last = 0;
  private lastCpu = 0;
  /** Late ticks: when the tick came, how late it was, and whether the process was busy meanwhile. */
  private readonly gaps: Array<{ at: number; lagMs: number; busy: boolean }> = [];
  private peakSinceRead = 0;
  /** How late the last tick was, in ms. */
  currentMs = 0;

  constructor(options: LoopLagOptions = {}) {
    this.now = options.now ?? Date.now;
    this.cpuMs = options.cpuMs ?? processCpuMs;
    this.sampleMs = options.sampleMs ?? SAMPLE_MS;
  }

  start(): void {
    if (this.timer) return;
    this.last = this.now();
    this.lastCpu = this.cpuMs();
    this.timer = setInterval(() => this.tick(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One tick of the sampler (public so a test can drive it with its own clock). */
  tick(): void {
    const at = this.now();
    const cpu = this.cpuMs();
    const lagMs = Math.max(0, at - this.last - this.sampleMs);
    const busy = cpu - this.lastCpu >= BUSY_SHARE * (at - this.last);
    this.last = at;
    this.lastCpu = cpu;
    this.currentMs = lagMs;
    if (lagMs > this.peakSinceRead) this.peakSinceRead = lagMs;
    if (lagMs >= this.sampleMs) {
      this.gaps.push({ at, lagMs, busy });
      if (this.gaps.length > KEEP) this.gaps.shift();
    }
  }

  /**
   * The longest the loop ran late in a stretch that ended after `sinceMs` (a clock reading), counting the stretch
   * still going on now; with `blockedOnly`, only stretches the process spent computing (not frozen).
   */
  longestSince(sinceMs: number, blockedOnly = false): number {
    const now = this.now();
    const ongoing = Math.max(0, now - this.last - this.sampleMs);
    const ongoingBusy = this.cpuMs() - this.lastCpu >= BUSY_SHARE * (now - this.last);
    let longest = blockedOnly && !ongoingBusy ? 0 : ongoing;
    for (const gap of this.gaps) {
      if (gap.at >= sinceMs && gap.lagMs > longest && (gap.busy || !blockedOnly)) longest = gap.lagMs;
    }
    return longest;
  }

  /** The highest lag since the last call (a metrics scrape, a heartbeat), in ms. */
  readPeak(): number {
    const peak = Math.max(this.peakSinceRead, this.currentMs);
    this.peakSinceRead = 0;
    return peak;
  }
}
