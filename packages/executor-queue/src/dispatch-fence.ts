import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';
import { claimEpoch } from './scripts.js';

/**
 * A run's dispatch fence as one coordinator sees it: its jobs go out only while no coordinator of a newer lease
 * epoch claimed the run (claim-epoch.lua). The first refusal calls `onSuperseded`, and every later ask is refused.
 */
export class DispatchFence {
  private lost = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly runId: string,
    /** Undefined: a coordinator without a lease (no fence). */
    private readonly epoch: number | undefined,
    private readonly onSuperseded: (reason: string) => void,
  ) {}

  get superseded(): boolean {
    return this.lost;
  }

  /** Claims the fence again; false once a newer coordinator holds it. */
  async admit(): Promise<boolean> {
    if (this.epoch === undefined || this.lost) return !this.lost;
    const newer = await claimEpoch(this.redis, this.keys, this.runId, this.epoch);
    if (newer === 0 || this.lost) return !this.lost;
    this.lost = true;
    this.onSuperseded(`its dispatch (epoch ${this.epoch}) was refused: a coordinator of epoch ${newer} has the run`);
    return false;
  }

  /** This coordinator let go of the run. */
  release(): void {
    this.lost = true;
  }
}
