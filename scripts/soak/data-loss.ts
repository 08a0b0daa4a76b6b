/**
 * The soak's data-loss round: one more run, during which Redis loses everything it holds (FLUSHDB, which the AOF
 * keeps) once a fraction of the run's steps succeeded. Its expected outcome is its own, not the other runs': the
 * run may fail (its outputs on the Redis IO manager are gone too), but it ends within its timeout, reports the
 * steps Redis lost (`step_lost`), each of them ends, and its stored log never contradicts itself.
 */
import { type Instance, replayStoredRun, type StoredEvent } from '@stepwise/core';
import { createRedis } from '@stepwise/executor-queue';
import { withinOrTimeout } from '@stepwise/testing';
import type { CoordinatorRun, RunEnd } from './coordinator-process.js';
import type { Invariants } from './invariants.js';

export const DATA_LOSS_INVARIANTS = {
  'data-loss-ends':
    'the run during which Redis lost its data (FLUSHDB) ends, SUCCESS or FAILURE, within its timeout, and its record says so',
  'data-loss-reported':
    'that run has step_lost ENGINE_EVENTs, and every lost step attempt ends (STEP_FAILURE or STEP_UP_FOR_RETRY)',
  'data-loss-consistent':
    'its stored log never contradicts itself: at most one outcome per step attempt, at most one STEP_SUCCESS per step, and replaying it gives the recorded outcome',
} as const;

export interface DataLossRound {
  runId: string;
  end: RunEnd | 'timeout' | string;
  /** Steps succeeded when Redis was flushed; undefined: the run ended first. */
  flushedAt?: number;
  stepLost: number;
  staleEvents: number;
}

export interface DataLossOptions {
  newRun: () => CoordinatorRun;
  instance: Instance;
  redisUrl: string;
  steps: number;
  /** Fraction of the steps succeeded when Redis is flushed. */
  at: number;
  timeoutMs: number;
  stamp: (line: string) => void;
}

/** Runs the data-loss round: starts the run, flushes Redis at `at`, waits for the end (bounded). */
export async function dataLossRound(options: DataLossOptions): Promise<DataLossRound> {
  const { instance, stamp } = options;
  const run = options.newRun();
  const round: DataLossRound = { runId: run.runId, end: 'timeout', stepLost: 0, staleEvents: 0 };
  stamp(`data-loss run (${run.runId}) starting: FLUSHDB once ${Math.round(options.at * 100)}% of its steps succeeded`);
  run.start();
  const admin = createRedis({ url: options.redisUrl, name: 'soak-data-loss' });
  let cursor = 0;
  let succeeded = 0;
  let flushing: Promise<unknown> | undefined;
  const poll = setInterval(() => {
    void instance.storage.getEvents(run.runId, { afterSeq: cursor, types: ['STEP_SUCCESS'] }).then(
      (events) => {
        for (const e of events) cursor = Math.max(cursor, e.seq);
        succeeded += events.length;
        if (flushing || succeeded < options.steps * options.at) return;
        round.flushedAt = succeeded;
        flushing = admin.flushdb().then(() => stamp(`fault: data-loss FLUSHDB with ${succeeded} steps succeeded`));
      },
      () => {},
    );
  }, 200);
  try {
    const end = await withinOrTimeout(run.done, options.timeoutMs);
    round.end = end;
    stamp(
      `data-loss run ended ${end === 'timeout' ? 'STUCK (timeout)' : `${end.status} ${JSON.stringify(end.counts ?? {})}`}`,
    );
  } catch (error) {
    round.end = (error as Error).message;
    stamp(`data-loss run failed: ${round.end}`);
  } finally {
    clearInterval(poll);
    await flushing?.catch(() => {});
    admin.disconnect();
    await run.stop();
  }
  return round;
}

export function defineDataLossInvariants(invariants: Invariants): void {
  for (const [name, description] of Object.entries(DATA_LOSS_INVARIANTS)) invariants.define(name, description);
}

/** Checks the data-loss round from storage alone; tallies into `invariants`. */
export async function checkDataLoss(instance: Instance, round: DataLossRound, invariants: Invariants): Promise<void> {
  const { runId } = round;
  const record = await instance.storage.getRun(runId);
  const events: StoredEvent[] = record ? await instance.storage.getEvents(runId) : [];
  const ended = typeof round.end === 'object' && ['SUCCESS', 'FAILURE'].includes(record?.status ?? '');
  invariants.check(
    'data-loss-ends',
    ended,
    () => `run ${runId}: ${typeof round.end === 'object' ? round.end.status : round.end}, record ${record?.status}`,
  );
  if (!record) return;
  const outcomes = new Map<string, number>();
  const successes = new Map<string, number>();
  const lost: Array<{ stepKey?: string; attempt?: number }> = [];
  for (const e of events) {
    if (e.type === 'ENGINE_EVENT' && e.data.kind === 'step_lost') {
      lost.push({ stepKey: e.stepKey, attempt: (e.data.details as { attempt?: number } | undefined)?.attempt });
    }
    if (e.type === 'ENGINE_EVENT' && e.data.kind === 'stale_event') round.staleEvents++;
    if (e.stepKey === undefined) continue;
    if (e.type === 'STEP_SUCCESS' || e.type === 'STEP_FAILURE' || e.type === 'STEP_UP_FOR_RETRY') {
      const k = `${e.stepKey} attempt ${e.attempt}`;
      outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    }
    if (e.type === 'STEP_SUCCESS') successes.set(e.stepKey, (successes.get(e.stepKey) ?? 0) + 1);
  }
  round.stepLost = lost.length;
  // Flushed before the run ended: some step was in flight then, and is reported.
  if (round.flushedAt !== undefined) {
    invariants.check('data-loss-reported', lost.length > 0, () => `run ${runId}: no step_lost after FLUSHDB`);
  }
  for (const { stepKey, attempt } of lost) {
    const k = `${stepKey} attempt ${attempt}`;
    invariants.check('data-loss-reported', outcomes.has(k), () => `run ${runId}: ${k} was lost and never ended`);
  }
  for (const [k, n] of outcomes) {
    invariants.check('data-loss-consistent', n === 1, () => `run ${runId}: ${k} has ${n} outcomes`);
  }
  for (const [key, n] of successes) {
    invariants.check('data-loss-consistent', n === 1, () => `run ${runId}: ${n} stored STEP_SUCCESS of ${key}`);
  }
  const view = replayStoredRun(record.plan, runId, events);
  invariants.check(
    'data-loss-consistent',
    view.outcome === record.status,
    () => `run ${runId}: replay says ${view.outcome ?? 'unfinished'}, the record ${record.status}`,
  );
}

/** The report's line for the round. */
export function dataLossLine(round: DataLossRound): string {
  const end = typeof round.end === 'object' ? round.end.status : round.end;
  const when = round.flushedAt === undefined ? 'ended before the flush' : `FLUSHDB at ${round.flushedAt} steps`;
  return `data loss: run ${round.runId} ${when}, ended ${end}; ${round.stepLost} step_lost, ${round.staleEvents} stale events recorded`;
}
