import type {
  ScheduleState,
  ScheduleStore,
  TickClaimAnswer,
  TickClaimRequest,
  TickOutcome,
  TickRecord,
} from './schedule-store.js';

/** The scheduler's tables in memory (one process; for tests and the memory storage). */
export class MemoryScheduleStore implements ScheduleStore {
  private readonly schedules = new Map<string, ScheduleState>();
  private readonly ticks = new Map<string, TickRecord>();

  async getSchedule(name: string): Promise<ScheduleState | undefined> {
    const s = this.schedules.get(name);
    return s && { ...s };
  }

  async putSchedule(state: ScheduleState): Promise<void> {
    this.schedules.set(state.name, { ...state });
  }

  async claimTick(r: TickClaimRequest): Promise<TickClaimAnswer> {
    const key = `${r.schedule}\u0000${r.scheduledAt}`;
    const tick = this.ticks.get(key);
    if (!tick) {
      const at = { createdAt: r.now, updatedAt: r.now, leaseExpiresAt: r.now + r.leaseMs };
      this.ticks.set(key, {
        schedule: r.schedule,
        scheduledAt: r.scheduledAt,
        status: 'STARTED',
        runIds: [],
        claimedBy: r.owner,
        attempt: 1,
        ...at,
      });
      return { claimed: true, attempt: 1 };
    }
    if (tick.status !== 'STARTED' || tick.leaseExpiresAt >= r.now) return { claimed: false };
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
    const tick = this.ticks.get(`${schedule}\u0000${scheduledAt}`);
    if (tick?.status !== 'STARTED' || tick.claimedBy !== owner) return false;
    Object.assign(tick, { status: o.status, runIds: o.runIds ?? [], reason: o.reason, error: o.error, updatedAt: now });
    return true;
  }

  async listTicks(schedule: string, limit: number): Promise<TickRecord[]> {
    return [...this.ticks.values()]
      .filter((t) => t.schedule === schedule)
      .sort((a, b) => b.scheduledAt.localeCompare(a.scheduledAt))
      .slice(0, limit)
      .map((t) => ({ ...t, runIds: [...t.runIds] }));
  }
}
