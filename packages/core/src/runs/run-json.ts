import { redactValue } from '../config/redact.js';
import type { StepStatus } from '../execution/step-node.js';
import type { StepResult } from '../execution/step-results.js';
import type { RunRecord } from '../storage/run-storage.js';
import { isOrphaned, type StoredRunSteps } from './read-run.js';

/** A run as `--json` shows it (README.md, CLI): `runs list`, and the head of `runs show`. Timestamps are epoch ms. */
export interface RunJson {
  runId: string;
  pipeline: string;
  status: RunRecord['status'];
  /** Running, but its coordinator stopped its heartbeat (see isOrphaned). */
  orphaned: boolean;
  parentRunId: string | null;
  rootRunId: string | null;
  /** Masked where named like a secret (`token=...`), like the run config. */
  tags: Record<string, string>;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  updatedAt: number;
}

/** A step as `--json` shows it: `runs show`, and the RUN_SUMMARY line of `run --json`. */
export interface StepJson {
  key: string;
  status: StepStatus;
  attempts: number;
  reused: boolean;
  reusedFrom?: string;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  workerId?: string;
  /** The message of its latest error. */
  error?: string;
  skipReason?: string;
}

/** `runs show RUN_ID --json`: the run, whether its log has ended, and its steps (reused ones first). */
export interface RunDetailJson extends RunJson {
  finished: boolean;
  durationMs: number | null;
  steps: StepJson[];
}

/** How long a run took, once it has ended. */
export function runDurationMs(run: Pick<RunRecord, 'startedAt' | 'endedAt'>): number | undefined {
  return run.startedAt !== undefined && run.endedAt !== undefined ? run.endedAt - run.startedAt : undefined;
}

export function runJson(run: RunRecord, now = Date.now()): RunJson {
  return {
    runId: run.runId,
    pipeline: run.pipeline,
    status: run.status,
    orphaned: isOrphaned(run, now),
    parentRunId: run.parentRunId ?? null,
    rootRunId: run.rootRunId ?? null,
    tags: redactValue(run.tags),
    createdAt: run.createdAt,
    startedAt: run.startedAt ?? null,
    endedAt: run.endedAt ?? null,
    updatedAt: run.updatedAt,
  };
}

export function stepJson(step: StepResult<StepStatus>): StepJson {
  const out: StepJson = { key: step.key, status: step.status, attempts: step.attempts, reused: false };
  if (step.startedAt !== undefined) out.startedAt = step.startedAt;
  if (step.endedAt !== undefined) out.endedAt = step.endedAt;
  if (step.durationMs !== undefined) out.durationMs = step.durationMs;
  if (step.workerId !== undefined) out.workerId = step.workerId;
  if (step.error) out.error = step.error.message;
  if (step.skipReason) out.skipReason = step.skipReason;
  return out;
}

export function runDetailJson(run: RunRecord, detail: StoredRunSteps, now = Date.now()): RunDetailJson {
  const reused: StepJson[] = detail.reused.map((r) => ({
    key: r.key,
    status: 'SUCCESS',
    attempts: 0,
    reused: true,
    reusedFrom: r.reusedFrom,
  }));
  return {
    ...runJson(run, now),
    finished: detail.outcome !== undefined,
    durationMs: runDurationMs(run) ?? null,
    steps: [...reused, ...detail.steps.map(stepJson)],
  };
}
