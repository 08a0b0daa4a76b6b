/**
 * A step this short gains nothing from a job of its own: BullMQ's cost per job (add, fetch, lock, finish, in CPU of
 * the coordinator, Redis and the worker; bench/RESULTS.md measures it) is larger than the step itself.
 */
export const QUICK_STEP_MS = 1;

/** Successes of an op seen before its duration is trusted. */
const MIN_SAMPLES = 3;

/** Weight of the newest duration in the moving average: recent steps tell more (the op's input may grow). */
const ALPHA = 0.25;

/**
 * How long each op's steps of one run take, as workers report them (STEP_SUCCESS `durationMs`): the coordinator
 * bundles the steps of quick ops into shared jobs however short their queue's backlog (see bundle-policy.ts),
 * much as Dask keeps per-task-prefix duration estimates to decide what is worth moving.
 */
export class OpDurations {
  private readonly byOp = new Map<string, { samples: number; meanMs: number }>();

  record(op: string, durationMs: number): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    const known = this.byOp.get(op);
    if (!known) this.byOp.set(op, { samples: 1, meanMs: durationMs });
    else {
      known.samples++;
      known.meanMs += ALPHA * (durationMs - known.meanMs);
    }
  }

  /** Mean duration of the op's recent steps in ms, or undefined while too few have been seen. */
  meanMs(op: string): number | undefined {
    const known = this.byOp.get(op);
    return known && known.samples >= MIN_SAMPLES ? known.meanMs : undefined;
  }

  /** The op's mean duration when its steps are known to take less than QUICK_STEP_MS, else undefined. */
  quickMeanMs(op: string): number | undefined {
    const mean = this.meanMs(op);
    return mean !== undefined && mean < QUICK_STEP_MS ? mean : undefined;
  }

  /** The op's steps are known to take less than QUICK_STEP_MS. */
  isQuick(op: string): boolean {
    return this.quickMeanMs(op) !== undefined;
  }
}
