import {
  FILE_TAG,
  type Instance,
  PARENT_RUN_TAG,
  type PlanStep,
  type RunRecord,
  runDurationMs,
  runJson,
  type SerializedError,
  type StepResult,
  type StepStatus,
} from '@stepwise/core';
import type { FailureSummary, RunDetail, RunDetailResponse, StepErrorJson, StepRow } from '../api-types.js';
import type { AttemptSegments } from './attempts.js';
import { planKeyOf } from './step-medians.js';

export function errorJson(error: SerializedError): StepErrorJson {
  const out: StepErrorJson = { name: error.name, message: error.message };
  if (error.stack !== undefined) out.stack = error.stack;
  if (error.code !== undefined) out.code = error.code;
  return out;
}

/** Builds step rows of one run: the plan's facts (op, queue, upstream) and the replayed state of each step. */
export class StepRowBuilder {
  private readonly planSteps: Map<string, PlanStep>;

  constructor(
    private readonly run: RunRecord,
    private readonly segments: AttemptSegments,
    /** Replaced when newer medians are read (see RunViews). */
    public medians: ReadonlyMap<string, number>,
  ) {
    this.planSteps = new Map(run.plan.steps.map((s) => [s.key, s]));
  }

  row(result: StepResult<StepStatus>): StepRow {
    const planKey = planKeyOf(result.key);
    const plan = this.planSteps.get(planKey);
    const row: StepRow = {
      key: result.key,
      planKey,
      op: plan?.op ?? planKey,
      queue: plan?.tags.queue ?? 'default',
      status: result.status,
      attempts: result.attempts,
      reused: false,
      upstream: plan?.upstream ?? [],
      medianMs: this.medians.get(planKey) ?? null,
      attemptsDetail: this.segments.of(result.key),
    };
    if (result.mappingKey !== undefined) row.mappingKey = result.mappingKey;
    if (result.startedAt !== undefined) row.startedAt = result.startedAt;
    if (result.endedAt !== undefined) row.endedAt = result.endedAt;
    if (result.durationMs !== undefined) row.durationMs = result.durationMs;
    if (result.workerId !== undefined) row.workerId = result.workerId;
    if (result.error) row.error = errorJson(result.error);
    if (result.skipReason !== undefined) row.skipReason = result.skipReason;
    return row;
  }

  reusedRows(): StepRow[] {
    return Object.entries(this.run.plan.reuse).map(([key, reusedFrom]) => ({
      key,
      planKey: key,
      op: key,
      queue: 'default',
      status: 'SUCCESS',
      attempts: 0,
      reused: true,
      reusedFrom,
      upstream: [],
      medianMs: this.medians.get(key) ?? null,
      attemptsDetail: [],
    }));
  }
}

const NOT_RUN: ReadonlySet<StepStatus> = new Set(['SKIPPED', 'NOT_STARTED', 'CANCELED']);

/** The root failures (steps that failed on their own) apart from the steps their failure kept from running. */
export function failureSummary(plan: readonly PlanStep[], rows: readonly StepRow[]): FailureSummary | null {
  const failed = rows.filter((r) => r.status === 'FAILURE');
  if (failed.length === 0) return null;
  const tainted = new Set(failed.map((r) => r.planKey));
  for (const step of plan) {
    if (step.upstream.some((u) => tainted.has(u)) || (step.scope && tainted.has(step.scope.step)))
      tainted.add(step.key);
  }
  const failedKeys = new Set(failed.map((r) => r.key));
  const causedSkips = rows
    .filter((r) => NOT_RUN.has(r.status) && !failedKeys.has(r.key) && tainted.has(r.planKey))
    .filter((r) => !failedKeys.has(r.planKey))
    .map((r) => r.key);
  const rootSteps = failed.map((r) => (r.error ? { key: r.key, error: r.error } : { key: r.key }));
  return { rootSteps, causedSkips, preselect: failed[0]?.key ?? null };
}

/** GET /api/runs/:id: the run, its steps (replayed by RunViews), its failure summary. */
export async function runDetailResponse(
  instance: Instance,
  run: RunRecord,
  view: { rows: StepRow[]; finished: boolean; lastSeq: number },
  medianOver: number,
  now: number,
): Promise<RunDetailResponse> {
  const children = await instance.storage.listRuns({ tags: { [PARENT_RUN_TAG]: run.runId }, limit: 100 });
  const detail: RunDetail = {
    ...runJson(run, now),
    finished: view.finished,
    durationMs: runDurationMs(run) ?? null,
    runConfig: run.runConfig,
    file: run.tags[FILE_TAG] ?? null,
    lastSeq: view.lastSeq,
    childRunIds: children.map((c) => c.runId).reverse(),
  };
  return { run: detail, steps: view.rows, failure: failureSummary(run.plan.steps, view.rows), medianOver };
}
