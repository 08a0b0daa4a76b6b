/**
 * The soak's chaos: SIGKILLs a random worker every few seconds (the pool starts a replacement at once), and, once
 * each as the first runs pass set fractions of their steps, SIGSTOPs a worker past its lock time and SIGCONTs
 * it, restarts Redis gracefully (AOF on), SIGSTOPs the coordinator while one that resumes the run takes its lease and
 * then SIGCONTs it (it must find itself superseded and exit), and SIGKILLs the coordinator and starts one that
 * resumes the run.
 * One-time faults run one after another, never overlapping; worker kills go on throughout.
 */
import type { RedisServer } from '@stepwise/testing';
import type { CoordinatorRun, FrozenCoordinator } from './coordinator-process.js';
import { intBetween } from './rng.js';
import type { WorkerPool } from './worker-pool.js';

export interface FaultPlan {
  /** Mean time between worker kills (each interval is drawn from 0.5×–1.5× of it); 0: no kills. */
  killEveryMs: number;
  /** Workers to freeze (SIGSTOP), one at a time: 0, 1 or 2. */
  freezes: number;
  /** How long a worker stays frozen; longer than its lock, so its steps are re-run as new attempts. */
  freezeMs: number;
  redisRestart: boolean;
  /** How long Redis stays down during its restart. */
  redisDownMs: number;
  coordinatorKill: boolean;
  /** How long the run has no coordinator. */
  coordinatorDownMs: number;
  /** Freeze the coordinator once, resume the run elsewhere, thaw it. */
  coordinatorFreeze: boolean;
}

export type FaultKind =
  | 'worker-kill'
  | 'worker-freeze'
  | 'redis-restart'
  | 'coordinator-freeze'
  | 'coordinator-restart';

interface OneTimeFault {
  kind: Exclude<FaultKind, 'worker-kill'>;
  /** Fraction of a run's steps done before it fires. */
  at: number;
  fired: boolean;
}

export interface FaultTargets {
  pool: WorkerPool;
  redis: RedisServer;
  /** The coordinator of the run in progress. */
  coordinator: () => CoordinatorRun | undefined;
  /** Step jobs waiting in the queue (dispatched, not yet taken by a worker). */
  waitingJobs: () => Promise<number>;
  /** The epoch of a run's coordinator lease (0: none). */
  leaseEpoch: (runId: string) => Promise<number>;
}

export class FaultInjector {
  readonly timeline: Array<{ atMs: number; kind: FaultKind; detail: string }> = [];
  readonly counts: Record<FaultKind, number> = {
    'worker-kill': 0,
    'worker-freeze': 0,
    'redis-restart': 0,
    'coordinator-freeze': 0,
    'coordinator-restart': 0,
  };
  /** The coordinators frozen and thawed, for the 'frozen-coordinator-fenced' invariant. */
  readonly frozenCoordinators: FrozenCoordinator[] = [];
  /** Faults that threw (e.g. Redis did not come back): each is a soak failure. */
  readonly errors: string[] = [];
  private readonly oneTime: OneTimeFault[] = [];
  private killTimer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly plan: FaultPlan,
    private readonly targets: FaultTargets,
    private readonly random: () => number,
    private readonly log: (line: string) => void,
  ) {
    if (plan.freezes >= 1) this.oneTime.push({ kind: 'worker-freeze', at: 0.15, fired: false });
    if (plan.redisRestart) this.oneTime.push({ kind: 'redis-restart', at: 0.35, fired: false });
    if (plan.coordinatorFreeze) this.oneTime.push({ kind: 'coordinator-freeze', at: 0.45, fired: false });
    if (plan.coordinatorKill) this.oneTime.push({ kind: 'coordinator-restart', at: 0.55, fired: false });
    if (plan.freezes >= 2) this.oneTime.push({ kind: 'worker-freeze', at: 0.75, fired: false });
  }

  /** One-time faults that have not happened yet. */
  get pending(): FaultKind[] {
    return this.oneTime.filter((f) => !f.fired).map((f) => f.kind);
  }

  /** Planned one-time faults, by kind. */
  get planned(): Record<FaultKind, number> {
    const planned: Record<FaultKind, number> = {
      'worker-kill': this.plan.killEveryMs > 0 ? 1 : 0,
      'worker-freeze': 0,
      'redis-restart': 0,
      'coordinator-freeze': 0,
      'coordinator-restart': 0,
    };
    for (const f of this.oneTime) planned[f.kind]++;
    return planned;
  }

  start(): void {
    if (this.plan.killEveryMs > 0) this.scheduleKill();
  }

  /** The run in progress has finished `fraction` of its steps: fire the one-time faults due by then. */
  progress(fraction: number): void {
    for (const fault of this.oneTime) {
      if (fault.fired || fraction < fault.at || this.stopped) continue;
      fault.fired = true;
      this.chain = this.chain
        .then(() => this.fire(fault.kind))
        .catch((error: Error) => {
          this.errors.push(`${fault.kind}: ${error.message}`);
          this.log(`fault ${fault.kind} failed: ${error.message}`);
        });
    }
  }

  /** Stops injecting; waits for a fault in progress to finish (a frozen worker is thawed, Redis is back). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.killTimer);
    await this.chain;
  }

  private record(kind: FaultKind, detail: string): void {
    const atMs = Date.now() - this.startedAt;
    this.counts[kind]++;
    this.timeline.push({ atMs, kind, detail });
    this.log(`fault: ${kind} ${detail}`);
  }

  private scheduleKill(): void {
    const every = this.plan.killEveryMs;
    this.killTimer = setTimeout(
      () => {
        if (this.stopped) return;
        const candidates = this.targets.pool.live().filter((w) => w.ready);
        if (candidates.length > 0) {
          const victim = candidates[intBetween(this.random, 0, candidates.length - 1)];
          if (victim) {
            const replacement = this.targets.pool.kill(victim);
            this.record(
              'worker-kill',
              `SIGKILL ${victim.name} (pid ${victim.proc.pid}); replacement ${replacement.name}`,
            );
          }
        }
        this.scheduleKill();
      },
      Math.round(every * (0.5 + this.random())),
    );
    this.killTimer.unref();
  }

  private async fire(kind: OneTimeFault['kind']): Promise<void> {
    if (this.stopped) return;
    switch (kind) {
      case 'worker-freeze': {
        const candidates = this.targets.pool.live().filter((w) => w.ready);
        const victim = candidates[intBetween(this.random, 0, candidates.length - 1)];
        if (!victim) throw new Error('no live worker to freeze');
        this.targets.pool.freeze(victim);
        this.record('worker-freeze', `SIGSTOP ${victim.name} (pid ${victim.proc.pid}) for ${this.plan.freezeMs} ms`);
        await new Promise((r) => setTimeout(r, this.plan.freezeMs));
        this.targets.pool.thaw(victim);
        this.log(`SIGCONT ${victim.name}`);
        return;
      }
      case 'redis-restart': {
        const started = Date.now();
        await this.targets.redis.restart({ downMs: this.plan.redisDownMs });
        this.record('redis-restart', `graceful restart, down ${Date.now() - started} ms`);
        return;
      }
      case 'coordinator-freeze': {
        const run = this.targets.coordinator();
        if (!run) throw new Error('no run in progress to freeze the coordinator of');
        const epoch = await this.targets.leaseEpoch(run.runId);
        const frozen = await run.freezeAndResume(
          this.plan.coordinatorDownMs,
          async () => (await this.targets.leaseEpoch(run.runId)) > epoch,
        );
        if (!frozen) throw new Error('the coordinator had exited: nothing to freeze');
        this.frozenCoordinators.push(frozen);
        this.record(
          'coordinator-freeze',
          `SIGSTOP coordinator (pid ${frozen.pid}) of run ${run.runId} for ${this.plan.coordinatorDownMs} ms, resumed as pid ${run.pid}, then SIGCONT: it reported ${frozen.reported ?? 'nothing'} and exited ${frozen.exitCode ?? 'not at all'}`,
        );
        return;
      }
      case 'coordinator-restart': {
        // The harder moment: steps dispatched and not started yet, which may run and finish while no coordinator
        // watches. Wait (up to 10 s) for the queue to hold some.
        const until = Date.now() + 10_000;
        let waiting = 0;
        while (Date.now() < until && !this.stopped) {
          waiting = await this.targets.waitingJobs().catch(() => 0);
          if (waiting > 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const run = this.targets.coordinator();
        if (!run) throw new Error('no run in progress to kill the coordinator of');
        const pid = run.pid;
        await run.killAndResume(this.plan.coordinatorDownMs);
        this.record(
          'coordinator-restart',
          `SIGKILL coordinator (pid ${pid}) of run ${run.runId} with ${waiting} jobs waiting; resumed as pid ${run.pid} after ${this.plan.coordinatorDownMs} ms`,
        );
        return;
      }
    }
  }
}
