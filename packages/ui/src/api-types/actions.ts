/** API compute logs, actions, pipelines, graphs and why-waiting. Pure types (see ../api-types.ts). */

import type { ConfigIssueJson, RunStatus, StepStatus } from './runs.js';

// ---------------------------------------------------------------- compute logs

/**
 * GET /api/runs/:id/logs/:stepKey?stdoutFrom=N&stderrFrom=M — the step's captured stdout/stderr, from the given
 * character offsets (default 0: all). Text as written (ANSI escapes kept); 404 for an unknown run or step key.
 */
export interface LogsResponse {
  stdout: string;
  stderr: string;
  /** Total length so far: the next call's `stdoutFrom` / `stderrFrom`. */
  stdoutLength: number;
  stderrLength: number;
}

// ---------------------------------------------------------------- actions

/** POST /api/runs (a submit: the run is stored QUEUED for the daemon). */
export interface SubmitRunRequest {
  /** Optional when the file has one pipeline. */
  pipeline?: string;
  /** An object, or YAML text (then errors carry its line numbers). */
  runConfig?: unknown;
  tags?: Record<string, string>;
  priority?: number;
}

/** 201 */
export interface SubmitRunResponse {
  runId: string;
}

/** POST /api/runs/:id/cancel → 202 */
export interface CancelRunResponse {
  /** `ended`: it had already ended; `canceled`: recorded CANCELED now; `requested`: its coordinator will stop it. */
  action: 'ended' | 'canceled' | 'requested';
  status: RunStatus;
}

/** POST /api/runs/:id/reexecute: all steps (empty body), from failure, or a selection (`extract+`, `*total`). */
export interface ReexecuteRequest {
  fromFailure?: boolean;
  select?: string;
}

/** 201: the child run, QUEUED for the daemon, linked to its parent. */
export interface ReexecuteResponse {
  runId: string;
  parentRunId: string;
  /** Steps it runs. */
  steps: string[];
  /** Steps it reuses: key -> run holding the outputs. */
  reuse: Record<string, string>;
}

/** POST /api/validate — the same validator as POST /api/runs. */
export interface ValidateRequest {
  pipeline?: string;
  runConfig?: unknown;
}

export interface ValidateResponse {
  ok: boolean;
  errors: ConfigIssueJson[];
}

// ---------------------------------------------------------------- pipelines and graphs

export interface PipelineStep {
  key: string;
  op: string;
  queue: string;
  /** Step keys it waits for. */
  upstream: string[];
  /** It has a dynamic output: each item makes copies of the steps downstream. */
  fansOut: boolean;
  /** It is copied per item of this step's dynamic output. */
  mappedBy?: string;
  tags: Record<string, string>;
}

export interface PipelineSummary {
  name: string;
  description?: string;
  steps: PipelineStep[];
  /** Schedules of the file that launch it. */
  schedules: string[];
}

/** GET /api/pipelines */
export interface PipelinesResponse {
  pipelines: PipelineSummary[];
}

/**
 * GET /api/pipelines/:name/plan — the ExecutionPlan JSON (as `stepwise plan --json`), built with the default run
 * config, or with `?runConfig=<YAML or JSON text>`; a config the pipeline needs and lacks is a 400 CONFIG_INVALID.
 */
export interface PlanJson {
  version: 1;
  pipeline: string;
  fingerprint: string;
  steps: Array<{
    key: string;
    op: string;
    inputs: Record<string, unknown>;
    outputs: Array<{ name: string; optional: boolean; dynamic: boolean }>;
    tags: Record<string, string>;
    config: unknown;
    upstream: string[];
    scope?: { step: string; output: string };
  }>;
  resources: Record<string, unknown>;
  selection: string[] | null;
  reuse: Record<string, string>;
}

/**
 * GET /api/pipelines/:name/graph and GET /api/runs/:id/graph?expand=KEY,KEY2 — the plan graph laid out on the
 * server (elkjs, layered, top-down; cached per plan). The mapped copies of a fan-out are one `group` node;
 * `expand=KEY` (the group's planKey) lays them out one node each.
 */
export interface GraphLayout {
  width: number;
  height: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface GraphNode {
  id: string;
  kind: 'step' | 'group';
  /** The step key; for a group, the template (plan) key. */
  stepKey: string;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** On a run's graph: the step's status; for a group, the worst of its copies. */
  status?: StepStatus;
  /** Groups: how many copies (on a run graph), and their count by status. */
  count?: number;
  statusCounts?: Partial<Record<StepStatus, number>>;
  /** Groups: expanded (the copies follow as their own nodes). */
  expanded?: boolean;
}

export interface GraphEdge {
  id: string;
  from: string;
  to: string;
  /** Polyline from source to target, in the layout's coordinates. */
  points: Array<{ x: number; y: number }>;
}

// ---------------------------------------------------------------- why is this step waiting?

/** One reason a step has not started. */
export type WaitReason =
  | { kind: 'upstream'; steps: string[] }
  | { kind: 'queue'; queue: string; jobsAhead: number }
  | { kind: 'no-worker'; queue: string }
  | { kind: 'worker-slots'; queue: string; slots: number; busy: number }
  | { kind: 'retry'; nextAttempt: number; at: number }
  | { kind: 'run-queued'; position: number; limit: RunLimit | null }
  | { kind: 'run-not-started'; status: RunStatus }
  | { kind: 'unknown'; message: string };

/** The run-queue limit holding a QUEUED run back. */
export type RunLimit =
  | { kind: 'maxConcurrentRuns'; limit: number; inProgress: number }
  | { kind: 'tag'; key: string; value: string | null; limit: number; inProgress: number };

/** GET /api/runs/:id/waiting — why each step that has not started (or waits for a retry) is waiting. */
export interface WaitingResponse {
  runId: string;
  steps: Array<{ key: string; status: StepStatus; reasons: WaitReason[] }>;
}
