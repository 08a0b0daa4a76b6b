import type { Redis } from 'ioredis';
import { jobIdOf, type PendingJob } from './dispatch.js';
import type { InFlight, InFlightSteps } from './in-flight.js';
import type { RedisKeys } from './keys.js';
import { watchRun } from './scripts.js';

export interface LostJobsDeps {
  inFlight: InFlightSteps;
  redis: Redis;
  keys: RedisKeys;
  runId: string;
  /** The Redis key of a BullMQ job (its hash). */
  jobKey: (queue: string, jobId: string) => string;
  /** The id of the last stream entry the coordinator has handled. */
  position: () => string;
  /** How often each step in flight has its job checked, in ms. */
  everyMs: number;
  /** A step whose job is gone and whose outcome never came: lost. `vanished`: Redis lost the run's data. */
  lose: (entry: InFlight, vanished: boolean) => void;
  /** A member not started whose lead's job ended without running it: it goes in a job of its own. */
  relaunch: (entry: InFlight) => void;
}

/** At most this many jobs per watch-run.lua call. */
const BATCH = 1_000;

/** `a` is at or after `b`, both stream ids (`<ms>-<seq>`); '' (no stream) comes first. */
export function streamIdReached(a: string, b: string): boolean {
  if (b === '') return true;
  if (a === '' || a === '0') return false;
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as >= bs);
}

interface Suspect {
  entry: InFlight;
  attempt: number;
}

/**
 * Finds the steps in flight whose BullMQ job is gone (Redis lost its data: FLUSHDB, a restart without persistence;
 * or BullMQ gave the job up) from Redis itself, on the watchdog's tick, in batches: each step's job is checked once
 * per `everyMs`, and every one of them at once when the run's watch mark is gone. A job missing is not enough, as
 * a completed job is removed too: its step is lost only if, once the coordinator has read the stream up to where
 * it ended at the check, the step is still in flight (a worker sends a job's events before the job completes).
 */
export class LostJobs {
  private suspects: Suspect[] = [];
  private until = '';
  private since = 0;
  private vanished = false;

  constructor(private readonly deps: LostJobsDeps) {}

  /** Sets the run's watch mark, before its first dispatch. */
  async mark(): Promise<void> {
    await watchRun(this.deps.redis, this.deps.keys, this.deps.runId, []);
  }

  /** The jobs are in BullMQ (their add returned): from now on their steps' jobs are checked. */
  queued(jobs: readonly PendingJob[], now: number): void {
    for (const { data } of jobs) {
      const jobId = jobIdOf(this.deps.runId, data.task.key, data.attempt);
      for (const task of [data.task, ...(data.peers ?? [])]) {
        const entry = this.deps.inFlight.get(task.key);
        if (entry?.jobId === jobId) entry.checkedAt ??= now;
      }
    }
  }

  /** One round: settles the steps found missing before, or checks those that are due. */
  async check(now: number): Promise<void> {
    if (this.suspects.length > 0) {
      this.settle(now);
      if (this.suspects.length > 0) return;
    }
    const { inFlight, everyMs } = this.deps;
    const due: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of inFlight.values()) {
      if (f.checkedAt === undefined) continue;
      (now - f.checkedAt >= everyMs ? due : rest).push(f);
    }
    const first = await this.census(due, now);
    let { missing, last } = first;
    if (!first.marked) {
      // Redis lost the run's data: every job is checked now, not at its turn.
      const all = await this.census(rest, now);
      missing = missing.concat(all.missing);
      if (all.last !== '') last = all.last;
    }
    if (missing.length === 0) return;
    this.suspects = missing.map((entry) => ({ entry, attempt: entry.attempt }));
    this.until = last;
    this.since = now;
    this.vanished = !first.marked;
    this.settle(now);
  }

  /**
   * The suspects still in flight once the stream is read up to where it ended at the check are lost. Bounded: after
   * three rounds of `everyMs` they are settled however far the coordinator has read.
   */
  private settle(now: number): void {
    const { inFlight, position, everyMs } = this.deps;
    if (!streamIdReached(position(), this.until) && now - this.since < everyMs * 3) return;
    const suspects = this.suspects;
    this.suspects = [];
    for (const { entry, attempt } of suspects) {
      if (inFlight.get(entry.task.key) !== entry || entry.attempt !== attempt) continue;
      if (entry.member && entry.startedAt === undefined && !this.vanished) this.deps.relaunch(entry);
      else this.deps.lose(entry, this.vanished);
    }
  }

  /**
   * Checks the jobs of `entries`, BATCH at a time: a lead's (or a started member's) own job; a member not started
   * is missing when neither its lead's job nor a job of its own (a draining worker hands members over that way) is
   * there.
   */
  private async census(
    entries: InFlight[],
    now: number,
  ): Promise<{ marked: boolean; last: string; missing: InFlight[] }> {
    const { redis, keys, runId, jobKey } = this.deps;
    let marked = true;
    let last = '';
    const missing: InFlight[] = [];
    for (let i = 0; i === 0 || i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      const index = new Map<string, number>();
      const keyOf = (f: InFlight, jobId: string) => {
        const key = jobKey(f.queue, jobId);
        if (!index.has(key)) index.set(key, index.size);
        return key;
      };
      const asked = batch.map((f) => {
        const own = keyOf(f, f.jobId);
        const handedOver =
          f.member && f.startedAt === undefined ? keyOf(f, jobIdOf(runId, f.task.key, f.attempt)) : undefined;
        return [own, handedOver] as const;
      });
      const watch = await watchRun(redis, keys, runId, [...index.keys()]);
      if (i === 0) marked = watch.marked;
      last = watch.lastStreamId;
      const there = (key: string | undefined) => key !== undefined && watch.exists[index.get(key) as number] === true;
      batch.forEach((f, j) => {
        f.checkedAt = now;
        const [own, handedOver] = asked[j] as readonly [string, string | undefined];
        if (!there(own) && !there(handedOver)) missing.push(f);
      });
    }
    return { marked, last, missing };
  }
}
