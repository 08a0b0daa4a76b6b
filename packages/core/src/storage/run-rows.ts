import { MalformedRunError } from '../errors/index.js';
import {
  type ListRunsOptions,
  RUN_STATUSES,
  type RunFilter,
  type RunPatch,
  type RunRecord,
  type RunStatus,
} from './run-storage.js';

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
  /** The daemon's columns (migration 4). */
  claim_owner?: string | null;
  claimed_at?: number | string | null;
  resume_attempts?: number | null;
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

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The record of a row; `json` turns a JSON column into its value (JSON.parse for text, identity when parsed). A
 * column a hand edit broke (status, plan, tags, unparsable JSON) is a MalformedRunError naming it.
 */
export function recordFromRow(row: RunRow, json: (column: unknown) => unknown): RunRecord {
  const id = row.run_id;
  const raw = { updatedAt: Number(row.updated_at) };
  const column = (name: string, value: unknown) => {
    try {
      return json(value);
    } catch (err) {
      throw new MalformedRunError(id, `column ${name} is not JSON (${(err as Error).message})`, raw);
    }
  };
  if (!RUN_STATUSES.includes(row.status as RunStatus)) {
    throw new MalformedRunError(id, `status '${row.status}' is not one of ${RUN_STATUSES.join(', ')}`, raw);
  }
  const plan = column('plan', row.plan);
  if (!isObject(plan) || !Array.isArray(plan.steps) || typeof plan.fingerprint !== 'string') {
    throw new MalformedRunError(id, 'column plan is not an execution plan (an object with steps and fingerprint)', raw);
  }
  const tags = column('tags', row.tags);
  if (!isObject(tags) || Object.values(tags).some((v) => typeof v !== 'string')) {
    throw new MalformedRunError(id, 'column tags is not an object of strings', raw);
  }
  const run: RunRecord = {
    runId: id,
    pipeline: row.pipeline,
    status: row.status as RunStatus,
    runConfig: column('run_config', row.run_config),
    plan: plan as unknown as RunRecord['plan'],
    tags: tags as Record<string, string>,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  if (row.parent_run_id !== null) run.parentRunId = row.parent_run_id;
  if (row.root_run_id !== null) run.rootRunId = row.root_run_id;
  if (row.started_at !== null) run.startedAt = Number(row.started_at);
  if (row.ended_at !== null) run.endedAt = Number(row.ended_at);
  if (row.claim_owner != null && row.claimed_at != null)
    run.claim = { owner: row.claim_owner, at: Number(row.claimed_at) };
  if (row.resume_attempts) run.resumeAttempts = Number(row.resume_attempts);
  return run;
}

/** The columns a patch sets, with their values as SQL parameters. */
export function patchColumns(patch: RunPatch): Array<[column: string, value: unknown]> {
  const out: Array<[string, unknown]> = [];
  if (patch.status !== undefined) out.push(['status', patch.status]);
  if (patch.startedAt !== undefined) out.push(['started_at', patch.startedAt]);
  if (patch.endedAt !== undefined) out.push(['ended_at', patch.endedAt]);
  if (patch.tags !== undefined) out.push(['tags', JSON.stringify(patch.tags)]);
  if (patch.claim !== undefined) out.push(['claim_owner', patch.claim.owner], ['claimed_at', patch.claim.at]);
  if (patch.resumeAttempts !== undefined) out.push(['resume_attempts', patch.resumeAttempts]);
  return out;
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
  if (filter.createdBefore !== undefined) where.push(`created_at < ${param(filter.createdBefore)}`);
  if (filter.unknownStatus) where.push(UNKNOWN_STATUS_SQL);
  return where;
}

/** The predicate of migration 8's partial index `runs_unknown_status`, word for word, so that the planner uses it. */
const UNKNOWN_STATUS_SQL =
  "status NOT IN ('QUEUED', 'STARTING', 'STARTED', 'CANCELING', 'SUCCESS', 'FAILURE', 'CANCELED')";

/** The records of `rows`; a malformed one goes to `options.onMalformed` when given, else throws. */
export function recordsFromRows(
  rows: readonly RunRow[],
  json: (column: unknown) => unknown,
  options: ListRunsOptions = {},
): RunRecord[] {
  const out: RunRecord[] = [];
  for (const row of rows) {
    try {
      out.push(recordFromRow(row, json));
    } catch (error) {
      if (!(error instanceof MalformedRunError) || !options.onMalformed) throw error;
      options.onMalformed(error);
    }
  }
  return out;
}
