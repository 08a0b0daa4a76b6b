import { claimedTick, finishedTick } from './schedule-rows.js';
import type {
  ScheduleState,
  ScheduleStore,
  TickClaimAnswer,
  TickClaimRequest,
  TickOutcome,
  TickRecord,
} from './schedule-store.js';

const key = (schedule: string, scheduledAt: string) => `${schedule}\u0000${scheduledAt}`;

/** The scheduler's tables in memory (one process; for tests and the memory storage). */
export class MemoryScheduleStore implements ScheduleStore {
  private readonly schedules = new Map<string, ScheduleState>();
  private readonly ticks = new Map<string, TickRecord>();

  async getSchedule(name: string): Promise<ScheduleState | undefined> {
    const s = this.schedules.get(name);
    return s && { ...s };
  }

  async listSchedules(): Promise<ScheduleState[]> {
    return [...this.schedules.values()].map((s) => ({ ...s }));
  }

  async putSchedule(state: ScheduleState): Promise<void> {
    const { buffered, ...rest } = state;
    this.schedules.set(state.name, { ...rest, ...(buffered !== undefined && { buffered }) });
  }

  async claimTick(r: TickClaimRequest): Promise<TickClaimAnswer> {
    const tick = this.ticks.get(key(r.schedule, r.scheduledAt));
    if (!tick) {
      this.ticks.set(key(r.schedule, r.scheduledAt), claimedTick(r));
      return { claimed: true, attempt: 1 };
    }
    if (tick.status !== 'STARTED') return { claimed: false, inProgress: false };
    if (tick.leaseExpiresAt >= r.now) return { claimed: false, inProgress: true };
    Object.assign(tick, {
      claimedBy: r.owner,
      leaseExpiresAt: r.now + r.leaseMs,
      attempt: tick.attempt + 1,
      updatedAt: r.now,
    });
    return { claimed: true, attempt: tick.attempt };
  }

  async finishTick(
    schedule: string,
    scheduledAt: string,
    owner: string,
    o: TickOutcome,
    now: number,
  ): Promise<boolean> {
    const tick = this.ticks.get(key(schedule, scheduledAt));
    if (tick?.status !== 'STARTED' || tick.claimedBy !== owner) return false;
    this.ticks.set(key(schedule, scheduledAt), finishedTick(tick, o, now));
    return true;
  }

  async listTicks(schedule: string, limit: number): Promise<TickRecord[]> {
    return [...this.ticks.values()]
      .filter((t) => t.schedule === schedule)
      .sort((a, b) => b.scheduledAt.localeCompare(a.scheduledAt))
      .slice(0, limit)
      .map((t) => ({ ...t, runIds: [...t.runIds] }));
  }

  async purgeTicks(schedule: string, before: string): Promise<number> {
    let n = 0;
    for (const [k, t] of this.ticks) {
      if (t.schedule === schedule && t.status !== 'STARTED' && t.scheduledAt < before) {
        this.ticks.delete(k);
        n++;
      }
    }
    return n;
  }
}
