import { redactValue } from '../config/redact.js';
import { MalformedRunError, NotFoundError, UsageError } from '../errors/index.js';
import type { Instance } from '../instance/instance.js';
import { isOrphaned, readRunSteps, requireRun } from '../runs/read-run.js';
import { runDetailJson, runDurationMs, runJson } from '../runs/run-json.js';
import { RUN_STATUSES, type RunStatus } from '../storage/run-storage.js';
import { EXIT } from './errors.js';
import { parsePositiveInt, parseTags, withInstance } from './options.js';
import { formatDate, formatDuration, formatTable, formatTime, printJson } from './output.js';

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
    // A hand-edited row that does not read back is listed with its problem, not a failure of the whole list.
    const malformed: MalformedRunError[] = [];
    const runs = await instance.storage.listRuns(
      {
        ...(statuses ? { status: statuses as RunStatus[] } : {}),
        ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
        ...(Object.keys(tags).length ? { tags } : {}),
        limit,
      },
      { onMalformed: (e) => void malformed.push(e) },
    );
    const warnings = malformed.map((e) => `stepwise: warning: ${e.message} (see: stepwise runs show ${e.runId})\n`);
    if (opts.json) {
      const now = Date.now();
      printJson(runs.map((r) => runJson(r, now)));
      process.stderr.write(warnings.join(''));
      return EXIT.success;
    }
    if (runs.length === 0 && malformed.length === 0) {
      process.stdout.write('no runs\n');
      return EXIT.success;
    }
    const rows = runs.map((r) => [
      r.runId,
      r.pipeline,
      isOrphaned(r) ? `${r.status} (orphaned)` : r.status,
      formatDate(r.createdAt),
      formatDuration(runDurationMs(r)),
      r.parentRunId ?? '',
    ]);
    for (const e of malformed) rows.push([e.runId, '?', 'MALFORMED', '', '', '']);
    process.stdout.write(`${formatTable(['RUN ID', 'PIPELINE', 'STATUS', 'CREATED', 'DURATION', 'PARENT'], rows)}\n`);
    process.stdout.write(malformed.map((e) => `${e.runId}: ${e.problem}\n`).join(''));
    return EXIT.success;
  });
}

/** `stepwise runs show RUN_ID`. */
export function runsShowCommand(runId: string, opts: { json?: boolean }): Promise<number> {
  return withInstance(async (instance) => {
    const run = await requireRun(instance, runId).catch(async (error: unknown) => {
      if (!(error instanceof MalformedRunError)) throw error;
      await showMalformed(instance, error, opts);
      return undefined;
    });
    if (!run) return EXIT.runFailed;
    const detail = runDetailJson(run, await readRunSteps(instance, run));
    if (opts.json) {
      printJson(detail);
      return EXIT.success;
    }
    const { steps, finished } = detail;
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
      lines.push(`  ended     ${formatDate(run.endedAt)} (${formatDuration(runDurationMs(run))})`);
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

/** What `runs show` can say of a run whose stored row does not read back: the problem, and its log's length. */
async function showMalformed(instance: Instance, error: MalformedRunError, opts: { json?: boolean }): Promise<void> {
  const events = await instance.storage.getEvents(error.runId).catch(() => []);
  if (opts.json) {
    printJson({ runId: error.runId, malformed: error.problem, events: events.length });
    return;
  }
  const lines = [
    `run ${error.runId}`,
    `  status    MALFORMED: ${error.problem}`,
    `  events    ${events.length} (stepwise runs logs ${error.runId})`,
    '  fix       the row was edited by hand: restore it; a daemon fails such a run in progress with the cause',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `stepwise runs logs RUN_ID [--step KEY]`: captured stdout/stderr per step, else the run's LOG events. */
export function runsLogsCommand(runId: string, opts: { step?: string }): Promise<number> {
  return withInstance(async (instance) => {
    const run = await requireRun(instance, runId);
    if (opts.step !== undefined) {
      const { steps } = await readRunSteps(instance, run);
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
