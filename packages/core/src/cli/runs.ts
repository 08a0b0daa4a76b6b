import { redactValue } from '../config/redact.js';
import { NotFoundError, UsageError } from '../errors/index.js';
import { displayStatus, replayStoredRun } from '../execution/replay-stored-run.js';
import { COORDINATOR_HEARTBEAT_TIMEOUT_MS } from '../execution/resume.js';
import type { Instance } from '../instance/instance.js';
import type { RunRecord, RunStatus } from '../storage/run-storage.js';
import { EXIT } from './errors.js';
import { getRunOrThrow, parsePositiveInt, parseTags, withInstance } from './options.js';
import { formatDate, formatDuration, formatTable, formatTime, printJson } from './output.js';

const RUN_STATUSES: readonly RunStatus[] = ['QUEUED', 'STARTED', 'CANCELING', 'SUCCESS', 'FAILURE', 'CANCELED'];

/** A running run whose coordinator stopped its heartbeat: it will not finish unless resumed. */
export function isOrphaned(run: RunRecord, now = Date.now()): boolean {
  return (
    (run.status === 'STARTED' || run.status === 'CANCELING') && now - run.updatedAt > COORDINATOR_HEARTBEAT_TIMEOUT_MS
  );
}

/** A run as `--json` shows it (SPEC §9). Timestamps are epoch milliseconds. */
function runJson(run: RunRecord): Record<string, unknown> {
  return {
    runId: run.runId,
    pipeline: run.pipeline,
    status: run.status,
    orphaned: isOrphaned(run),
    parentRunId: run.parentRunId ?? null,
    rootRunId: run.rootRunId ?? null,
    // A tag named like a secret (`token=...`) is shown masked, like the run config.
    tags: redactValue(run.tags),
    createdAt: run.createdAt,
    startedAt: run.startedAt ?? null,
    endedAt: run.endedAt ?? null,
    updatedAt: run.updatedAt,
  };
}

const durationOf = (run: Pick<RunRecord, 'startedAt' | 'endedAt'>) =>
  run.startedAt !== undefined && run.endedAt !== undefined ? run.endedAt - run.startedAt : undefined;

export interface RunsListOptions {
  json?: boolean;
  status?: string;
  pipeline?: string;
  tag?: string[];
  limit?: string;
}

/** `stepwise runs list`: newest first. */
export function runsListCommand(opts: RunsListOptions): Promise<number> {
  const statuses = opts.status?.split(',').map((s) => s.trim().toUpperCase());
  for (const s of statuses ?? []) {
    if (!RUN_STATUSES.includes(s as RunStatus)) {
      throw new UsageError(`--status '${s}' is not a run status; use one of: ${RUN_STATUSES.join(', ')}`);
    }
  }
  const limit = opts.limit === undefined ? 50 : parsePositiveInt(opts.limit, '--limit');
  const tags = parseTags(opts.tag);
  return withInstance(async (instance) => {
    const runs = await instance.storage.listRuns({
      ...(statuses ? { status: statuses as RunStatus[] } : {}),
      ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
      ...(Object.keys(tags).length ? { tags } : {}),
      limit,
    });
    if (opts.json) {
      printJson(runs.map(runJson));
      return EXIT.success;
    }
    if (runs.length === 0) {
      process.stdout.write('no runs\n');
      return EXIT.success;
    }
    const rows = runs.map((r) => [
      r.runId,
      r.pipeline,
      isOrphaned(r) ? `${r.status} (orphaned)` : r.status,
      formatDate(r.createdAt),
      formatDuration(durationOf(r)),
      r.parentRunId ?? '',
    ]);
    process.stdout.write(`${formatTable(['RUN ID', 'PIPELINE', 'STATUS', 'CREATED', 'DURATION', 'PARENT'], rows)}\n`);
    return EXIT.success;
  });
}

/** A step of a stored run as `runs show` lists it. */
export interface StepRow {
  key: string;
  status: string;
  attempts: number;
  reused: boolean;
  /** The run whose outputs a reused step stands for. */
  reusedFrom?: string;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  workerId?: string;
  error?: string;
  skipReason?: string;
}

/** The steps of a stored run, rebuilt by replaying its event log; reused steps first, then in plan order. */
export async function storedSteps(
  instance: Instance,
  run: RunRecord,
): Promise<{ steps: StepRow[]; finished: boolean }> {
  const view = replayStoredRun(run.plan, run.runId, await instance.storage.getEvents(run.runId));
  const rows: StepRow[] = Object.entries(run.plan.reuse).map(([key, from]) => ({
    key,
    status: 'SUCCESS',
    attempts: 0,
    reused: true,
    reusedFrom: from,
  }));
  const order = new Map(run.plan.steps.map((s, i) => [s.key, i]));
  const nodes = [...view.state.steps.values()].sort(
    (a, b) => (order.get(a.plan.key) ?? 0) - (order.get(b.plan.key) ?? 0),
  );
  for (const node of nodes) {
    const status = displayStatus(node.status, view.outcome);
    const row: StepRow = {
      key: node.key,
      status,
      attempts: node.startedAt === undefined ? 0 : node.attempt,
      reused: false,
    };
    if (node.startedAt !== undefined) row.startedAt = node.startedAt;
    if (node.startedAt !== undefined && node.endedAt !== undefined) {
      row.endedAt = node.endedAt;
      row.durationMs = node.endedAt - node.startedAt;
    }
    if (node.workerId !== undefined) row.workerId = node.workerId;
    const error = view.errors.get(node.key);
    if (error && status !== 'SUCCESS') row.error = error.message;
    if (status === 'SKIPPED' && node.skipReason) row.skipReason = node.skipReason;
    rows.push(row);
  }
  return { steps: rows, finished: view.outcome !== undefined };
}

/** `stepwise runs show RUN_ID`. */
export function runsShowCommand(runId: string, opts: { json?: boolean }): Promise<number> {
  return withInstance(async (instance) => {
    const run = await getRunOrThrow(instance, runId);
    const { steps, finished } = await storedSteps(instance, run);
    if (opts.json) {
      printJson({ ...runJson(run), finished, durationMs: durationOf(run) ?? null, steps });
      return EXIT.success;
    }
    const lines = [`run ${run.runId}`, `  pipeline  ${run.pipeline}`];
    let status: string = run.status;
    if (!finished) {
      status +=
        run.status === 'STARTED' || run.status === 'CANCELING'
          ? isOrphaned(run)
            ? ` (orphaned: its coordinator stopped its heartbeat; finish it with \`stepwise resume ${run.runId}\` or give up with \`stepwise cancel --force ${run.runId}\`)`
            : ' (not finished: its log has no end event)'
          : ' (not finished)';
    }
    lines.push(`  status    ${status}`);
    lines.push(`  created   ${formatDate(run.createdAt)}`);
    if (run.startedAt !== undefined) lines.push(`  started   ${formatDate(run.startedAt)}`);
    if (run.endedAt !== undefined)
      lines.push(`  ended     ${formatDate(run.endedAt)} (${formatDuration(durationOf(run))})`);
    if (run.parentRunId)
      lines.push(
        `  parent    ${run.parentRunId}${run.rootRunId && run.rootRunId !== run.parentRunId ? ` (root ${run.rootRunId})` : ''}`,
      );
    const tags = Object.entries(redactValue(run.tags));
    if (tags.length) lines.push(`  tags      ${tags.map(([k, v]) => `${k}=${v}`).join(', ')}`);
    lines.push('');
    const rows = steps.map((s) => [
      s.key,
      s.status,
      String(s.attempts),
      formatDuration(s.durationMs),
      s.reused ? `reused from run ${s.reusedFrom}` : (s.error ?? s.skipReason ?? ''),
    ]);
    lines.push(formatTable(['STEP', 'STATUS', 'ATTEMPTS', 'DURATION', 'NOTE'], rows));
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.success;
  });
}

/** `stepwise runs logs RUN_ID [--step KEY]`: captured stdout/stderr per step, else the run's LOG events. */
export function runsLogsCommand(runId: string, opts: { step?: string }): Promise<number> {
  return withInstance(async (instance) => {
    const run = await getRunOrThrow(instance, runId);
    if (opts.step !== undefined) {
      const { steps } = await storedSteps(instance, run);
      if (!steps.some((s) => s.key === opts.step)) {
        throw new NotFoundError(`run ${runId} has no step '${opts.step}' (see: stepwise runs show ${runId})`);
      }
    }
    const logs = instance.computeLogs;
    const keys = opts.step !== undefined ? [opts.step] : ((await logs?.list(runId)) ?? []);
    let printed = false;
    for (const key of keys) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const text = await logs?.read(runId, key, stream);
        if (!text) continue;
        process.stdout.write(`==> ${key} (${stream}) <==\n${text.endsWith('\n') ? text : `${text}\n`}`);
        printed = true;
      }
    }
    if (printed) return EXIT.success;
    // No captured output (e.g. an in-memory compute log manager): fall back to the LOG events in storage.
    const events = await instance.storage.getEvents(runId, {
      types: ['LOG'],
      ...(opts.step !== undefined ? { stepKey: opts.step } : {}),
    });
    for (const e of events) {
      if (e.type !== 'LOG') continue;
      process.stdout.write(
        `${formatTime(e.timestamp)} ${e.data.level.toUpperCase().padEnd(5)} ${e.stepKey ?? ''}: ${e.data.msg}\n`,
      );
    }
    if (events.length === 0) {
      process.stderr.write(`no logs for run ${runId}${opts.step !== undefined ? ` step '${opts.step}'` : ''}\n`);
    }
    return EXIT.success;
  });
}
