import type { ScheduleDefinition } from '@stepwise/core';

/** What the overlap policy says about one instant about to launch. */
export type OverlapDecision =
  | { kind: 'launch'; cancel: string[] }
  | { kind: 'skip'; reason: string }
  /** buffer-one: hold the instant on the schedule's row until the run in progress ends. */
  | { kind: 'buffer' };

/**
 * A schedule's overlap policy over one pass (docs/scheduler.md), given its runs not yet finished:
 * - `allow`: always launch; `skip`: SKIPPED while a run is unfinished, naming it;
 * - `buffer-one`: while a run is unfinished the first instant waits (held on the schedule's row) and launches
 *   when the run has ended; further instants meanwhile are SKIPPED;
 * - `cancel-other`: the unfinished runs are canceled and the new one launches.
 */
export class OverlapGuard {
  constructor(
    private readonly def: ScheduleDefinition,
    private active: string[],
    /** The instant held by buffer-one, if any. */
    public buffered: number | undefined,
  ) {}

  get idle(): boolean {
    return this.active.length === 0;
  }

  decide(t: number): OverlapDecision {
    const [running] = this.active;
    if (this.def.overlap === 'allow' || running === undefined) return { kind: 'launch', cancel: [] };
    if (this.def.overlap === 'cancel-other') return { kind: 'launch', cancel: [...this.active] };
    if (this.def.overlap === 'buffer-one') {
      if (this.buffered === undefined) {
        this.buffered = t;
        return { kind: 'buffer' };
      }
      if (this.buffered !== t) {
        const held = new Date(this.buffered).toISOString();
        return { kind: 'skip', reason: `overlap: run ${running} is still in progress and ${held} is buffered` };
      }
    }
    return { kind: 'skip', reason: `overlap: run ${running} is still in progress` };
  }

  /** A run of the schedule was launched (after the canceled ones, if any). */
  launched(runId: string, canceled: readonly string[]): void {
    this.active = [...this.active.filter((r) => !canceled.includes(r) && r !== runId), runId];
  }

  /** The schedule's unfinished runs as read again from storage. */
  reset(active: string[]): void {
    this.active = active;
  }
}
