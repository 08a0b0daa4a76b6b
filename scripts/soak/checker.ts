/**
 * The soak's verdict, from storage alone: the run record and event log in the instance's SQLite database, and
 * the outputs in its IO manager (files, or Redis). Every expected value is recomputed from the graph.
 */
import {
  type Instance,
  type IOManager,
  RunState,
  replayStoredRun,
  type StoredEvent,
  staleOriginal,
} from '@stepwise/core';
import { expectedValues, type SoakGraph } from './graph.js';
import type { Invariants } from './invariants.js';
import type { SoakValue } from './pipeline.js';

/** Invariant names and what each asserts. */
export const INVARIANTS = {
  'run-succeeded': 'the run record ended SUCCESS, with one RUN_SUCCESS event and no RUN_FAILURE',
  'steps-succeeded-once':
    'each step ends SUCCESS when the stored log is replayed in order, with exactly one STEP_SUCCESS applied, and exactly one stored STEP_SUCCESS of its final attempt',
  'outputs-correct': "each step's stored output value equals the value recomputed from the graph",
  'successes-stored-once':
    'no step key (dynamic copies included) has two stored STEP_SUCCESS events, whatever their attempts: a late success of an attempt that is over is stored as a stale_event, never as a STEP_SUCCESS',
  'events-unique': 'no stored event equals another (type, step, attempt, worker, timestamp, data)',
  'attempts-started-once': 'no (step, attempt) has two STEP_START events: an attempt number is never run twice',
  'replay-consistent': 'replayStoredRun (what resume and `runs show` use) agrees: run SUCCESS, every step SUCCESS',
  'outputs-not-stale':
    "each step's stored output was written by its final attempt or a newer one: an older (stale) attempt never has the last word",
} as const;

export interface RunFigures {
  runId: string;
  status: string;
  events: number;
  /** Steps that ran more than once (a lost or frozen worker's step re-run). */
  stepsWithRetries: number;
  maxAttempt: number;
  /** Step events of attempts other than the one the run state ended with (stale attempts, recorded). */
  staleEvents: number;
  staleSuccesses: number;
  /** Steps whose stored value came from an attempt newer than the one the run state applied (allowed). */
  outputsFromLaterAttempt: number;
  engineEvents: Record<string, number>;
}

/** `watchStaleOutputs`: report 'outputs-not-stale' without failing (the fs IO manager's last writer wins). */
export function defineInvariants(invariants: Invariants, options: { watchStaleOutputs: boolean }): void {
  for (const [name, description] of Object.entries(INVARIANTS)) {
    invariants.define(name, description, { watch: name === 'outputs-not-stale' && options.watchStaleOutputs });
  }
}

function eventIdentity(e: StoredEvent): string {
  return JSON.stringify([e.type, e.stepKey, e.attempt, e.workerId, e.timestamp, e.data]);
}

/** Checks one run; tallies into `invariants`. */
export async function checkRun(
  instance: Instance,
  io: IOManager,
  graph: SoakGraph,
  runId: string,
  invariants: Invariants,
): Promise<RunFigures> {
  const record = await instance.storage.getRun(runId);
  const events = record ? await instance.storage.getEvents(runId) : [];
  const figures: RunFigures = {
    runId,
    status: record?.status ?? 'MISSING',
    events: events.length,
    stepsWithRetries: 0,
    maxAttempt: 0,
    staleEvents: 0,
    staleSuccesses: 0,
    outputsFromLaterAttempt: 0,
    engineEvents: {},
  };
  const ends = events.filter((e) => e.type === 'RUN_SUCCESS').length;
  const failures = events.filter((e) => e.type === 'RUN_FAILURE');
  invariants.check(
    'run-succeeded',
    record?.status === 'SUCCESS' && ends === 1 && failures.length === 0,
    () =>
      `run ${runId}: status ${record?.status ?? 'no record'}, ${ends} RUN_SUCCESS, ${failures.length} RUN_FAILURE ${failures[0]?.message ?? ''}`,
  );

  // No record: the run never started (its coordinator failed first). Its steps were never run, so checking each
  // of them would only repeat this one failure N times.
  if (!record) return figures;

  const seen = new Map<string, number>();
  for (const e of events) {
    const id = eventIdentity(e);
    const copies = (seen.get(id) ?? 0) + 1;
    seen.set(id, copies);
    invariants.check(
      'events-unique',
      copies === 1,
      () => `run ${runId}: ${e.type} of ${e.stepKey} attempt ${e.attempt} (seq ${e.seq}) stored ${copies} times`,
    );
    if (e.type === 'ENGINE_EVENT') figures.engineEvents[e.data.kind] = (figures.engineEvents[e.data.kind] ?? 0) + 1;
  }

  // Replay the log as the live coordinator applied it, in stored order.
  const state = new RunState(record.plan, runId);
  const applied = new Map<string, number>();
  const starts = new Map<string, number>();
  const successesByAttempt = new Map<string, number>();
  const maxAttempt = new Map<string, number>();
  for (const e of events) {
    const ok = state.apply(e);
    if (e.stepKey === undefined) continue;
    const attempt = e.attempt ?? 1;
    maxAttempt.set(e.stepKey, Math.max(maxAttempt.get(e.stepKey) ?? 0, attempt));
    if (e.type === 'STEP_SUCCESS') {
      if (ok) applied.set(e.stepKey, (applied.get(e.stepKey) ?? 0) + 1);
      const k = `${e.stepKey}|${attempt}`;
      successesByAttempt.set(k, (successesByAttempt.get(k) ?? 0) + 1);
    }
    if (e.type === 'STEP_START') {
      const k = `${e.stepKey}|${attempt}`;
      starts.set(k, (starts.get(k) ?? 0) + 1);
    }
  }
  const stored = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'STEP_SUCCESS' && e.stepKey !== undefined) stored.set(e.stepKey, (stored.get(e.stepKey) ?? 0) + 1);
  }
  for (const [key, count] of stored) {
    invariants.check(
      'successes-stored-once',
      count === 1,
      () => `run ${runId}: ${count} stored STEP_SUCCESS of ${key}`,
    );
  }
  for (const [key, count] of starts) {
    invariants.check('attempts-started-once', count === 1, () => `run ${runId}: ${key} started ${count} times`);
  }
  const view = replayStoredRun(record.plan, runId, events);
  const expected = expectedValues(graph);
  const finalAttempt = new Map<string, number>();
  for (const step of graph.steps) {
    const node = state.steps.get(step.key);
    const final = node?.attempt ?? 0;
    finalAttempt.set(step.key, final);
    const atFinal = successesByAttempt.get(`${step.key}|${final}`) ?? 0;
    const appliedCount = applied.get(step.key) ?? 0;
    invariants.check(
      'steps-succeeded-once',
      node?.status === 'SUCCESS' && appliedCount === 1 && atFinal === 1,
      () =>
        `run ${runId}: step ${step.key} is ${node?.status ?? 'not in the plan'} after replay, ${appliedCount} STEP_SUCCESS applied, ${atFinal} stored for its final attempt ${final}`,
    );
    const replayed = view.state.steps.get(step.key)?.status;
    invariants.check(
      'replay-consistent',
      view.outcome === 'SUCCESS' && replayed === 'SUCCESS',
      () => `run ${runId}: replayStoredRun says run ${view.outcome ?? 'unfinished'}, step ${step.key} ${replayed}`,
    );
    const most = maxAttempt.get(step.key) ?? 0;
    if (most > 1) figures.stepsWithRetries++;
    figures.maxAttempt = Math.max(figures.maxAttempt, most);
  }
  for (const e of events) {
    const stale = staleOriginal(e);
    if (stale) {
      figures.staleEvents++;
      if (stale.type === 'STEP_SUCCESS') figures.staleSuccesses++;
    } else if (e.stepKey !== undefined && finalAttempt.has(e.stepKey) && e.attempt !== finalAttempt.get(e.stepKey)) {
      figures.staleEvents++;
    }
  }

  // Stored outputs, a few dozen files at a time. A fan-out's items are checked through its join's value.
  const steps = graph.steps.filter((s) => s.kind !== 'fanout');
  for (let i = 0; i < steps.length; i += 64) {
    await Promise.all(
      steps.slice(i, i + 64).map(async (step) => {
        let value: SoakValue | undefined;
        let error: string | undefined;
        try {
          value = (await io.load({ runId, step: step.key, output: 'result' })) as SoakValue;
        } catch (caught) {
          error = (caught as Error).message;
        }
        const want = expected.get(step.key);
        invariants.check(
          'outputs-correct',
          value?.h === want,
          () => `run ${runId}: step ${step.key}: stored ${error ?? JSON.stringify(value)}, expected h ${want}`,
        );
        const final = finalAttempt.get(step.key) ?? 0;
        invariants.check(
          'outputs-not-stale',
          value !== undefined && value.attempt >= final,
          () =>
            `run ${runId}: step ${step.key}: stored value written by attempt ${value?.attempt} (${value?.worker}), after its final attempt ${final}`,
        );
        if (value !== undefined && value.attempt > final) figures.outputsFromLaterAttempt++;
      }),
    );
  }
  return figures;
}
