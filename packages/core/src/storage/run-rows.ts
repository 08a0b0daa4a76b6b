import type { RunFilter, RunRecord, RunStatus } from './run-storage.js';

/**
 * A row of the `runs` table as a SQL backend returns it: SQLite gives numbers and JSON text, PostgreSQL bigints as
 * strings and json columns parsed.
 */
export interface RunRow {
  run_id: string;
  pipeline: string;
  status: string;
  run_config: unknown;
  plan: unknown;
  tags: unknown;
  parent_run_id: string | null;
  root_run_id: string | null;
  created_at: number | string;
  started_at: number | string | null;
  ended_at: number | string | null;
  updated_at: number | string;
}

/** The columns of `runs`, in the order of {@link runRowValues}. */
export const RUN_COLUMNS =
  'run_id, pipeline, status, run_config, plan, tags, parent_run_id, root_run_id, created_at, started_at, ended_at, updated_at';

/** A run's values for an INSERT of {@link RUN_COLUMNS}; JSON columns as text. */
export function runRowValues(run: RunRecord): unknown[] {
  return [
    run.runId,
    run.pipeline,
    run.status,
    JSON.stringify(run.runConfig ?? null),
    JSON.stringify(run.plan),
    JSON.stringify(run.tags),
    run.parentRunId ?? null,
    run.rootRunId ?? null,
    run.createdAt,
    run.startedAt ?? null,
    run.endedAt ?? null,
    run.updatedAt,
  ];
}

/** The record of a row; `json` turns a JSON column into its value (JSON.parse for text, identity when parsed). */
export function recordFromRow(row: RunRow, json: (column: unknown) => unknown): RunRecord {
  const run: RunRecord = {
    runId: row.run_id,
    pipeline: row.pipeline,
    status: row.status as RunStatus,
    runConfig: json(row.run_config),
    plan: json(row.plan) as RunRecord['plan'],
    tags: json(row.tags) as Record<string, string>,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  if (row.parent_run_id !== null) run.parentRunId = row.parent_run_id;
  if (row.root_run_id !== null) run.rootRunId = row.root_run_id;
  if (row.started_at !== null) run.startedAt = Number(row.started_at);
  if (row.ended_at !== null) run.endedAt = Number(row.ended_at);
  return run;
}

/**
 * The WHERE conditions of a run filter (joined with AND by the caller). `param` adds a value and returns its
 * placeholder (`?`, `$3`); `tagsTable` is the (schema-qualified) `run_tags` table. An empty `status` list matches
 * nothing: callers answer it without a query.
 */
export function runFilterConditions(filter: RunFilter, param: (value: unknown) => string, tagsTable: string): string[] {
  const where: string[] = [];
  if (filter.status) where.push(`status IN (${filter.status.map(param).join(', ')})`);
  if (filter.pipeline !== undefined) where.push(`pipeline = ${param(filter.pipeline)}`);
  for (const [key, value] of Object.entries(filter.tags ?? {})) {
    where.push(`run_id IN (SELECT run_id FROM ${tagsTable} WHERE key = ${param(key)} AND value = ${param(value)})`);
  }
  if (filter.updatedSince !== undefined) where.push(`updated_at >= ${param(filter.updatedSince)}`);
  return where;
}
