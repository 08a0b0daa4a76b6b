import { NotFoundError, RUN_STATUSES, type RunFilter, type RunRecord, type RunStatus, runJson } from '@stepwise/core';
import type { Hono } from 'hono';
import type { LogsResponse, RunsListResponse } from '../api-types.js';
import { UiRequestError } from '../errors.js';
import { intParam, listParam } from '../http/query.js';
import type { UiContext } from '../ui-context.js';
import { runDetailResponse } from '../views/run-detail.js';
import { planKeyOf } from '../views/step-medians.js';

/** The stored run `runId`, or a 404 naming it. */
export async function requireRunRecord(ctx: UiContext, runId: string): Promise<RunRecord> {
  const run = await ctx.instance.storage.getRun(runId);
  if (!run) throw new NotFoundError(`run '${runId}' not found`);
  return run;
}

/** The runs list's filters from the query (status, pipeline, tag k=v); shared by the list and the stream. */
export function parseRunFilter(url: URL): Pick<RunFilter, 'status' | 'pipeline' | 'tags'> {
  const filter: Pick<RunFilter, 'status' | 'pipeline' | 'tags'> = {};
  const status = listParam(url, 'status').map((s) => s.toUpperCase());
  for (const s of status) {
    if (!(RUN_STATUSES as readonly string[]).includes(s)) {
      throw new UiRequestError(
        'BAD_REQUEST',
        `query parameter 'status': unknown run status '${s}' (known: ${RUN_STATUSES.join(', ')})`,
      );
    }
  }
  if (status.length > 0) filter.status = status as RunStatus[];
  const pipeline = url.searchParams.get('pipeline');
  if (pipeline) filter.pipeline = pipeline;
  const tags: Record<string, string> = {};
  for (const tag of url.searchParams.getAll('tag')) {
    const at = tag.indexOf('=');
    if (at <= 0) throw new UiRequestError('BAD_REQUEST', `query parameter 'tag' must be key=value, got '${tag}'`);
    tags[tag.slice(0, at)] = tag.slice(at + 1);
  }
  if (Object.keys(tags).length > 0) filter.tags = tags;
  return filter;
}

/** Runs created in the same millisecond as the cursor are told apart by their place after it in storage's order. */
const TIE_SLACK = 50;

async function listPage(ctx: UiContext, url: URL): Promise<RunsListResponse> {
  const filter = parseRunFilter(url);
  const limit = intParam(url, 'limit', 50, 1, 500);
  const beforeId = url.searchParams.get('before');
  let runs: RunRecord[];
  if (beforeId) {
    const cursor = await ctx.instance.storage.getRun(beforeId);
    if (!cursor) throw new UiRequestError('BAD_REQUEST', `query parameter 'before': run '${beforeId}' not found`);
    const near = await ctx.instance.storage.listRuns({
      ...filter,
      createdBefore: cursor.createdAt + 1,
      limit: limit + 1 + TIE_SLACK,
    });
    const at = near.findIndex((r) => r.runId === beforeId);
    runs = at >= 0 ? near.slice(at + 1) : near.filter((r) => r.createdAt < cursor.createdAt);
  } else {
    runs = await ctx.instance.storage.listRuns({ ...filter, limit: limit + 1 });
  }
  const page = runs.slice(0, limit);
  const now = ctx.now();
  return {
    runs: page.map((r) => runJson(r, now)),
    nextBefore: runs.length > limit ? (page.at(-1)?.runId ?? null) : null,
  };
}

export function runRoutes(app: Hono, ctx: UiContext): void {
  app.get('/api/runs', async (c) => c.json(await listPage(ctx, new URL(c.req.url))));

  app.get('/api/runs/:id', async (c) => {
    const run = await requireRunRecord(ctx, c.req.param('id'));
    const view = await ctx.runViews.of(run, await ctx.medians.of(run.pipeline));
    return c.json(await runDetailResponse(ctx.instance, run, view, ctx.medianRuns, ctx.now()));
  });

  app.get('/api/runs/:id/logs/:stepKey', async (c) => {
    const run = await requireRunRecord(ctx, c.req.param('id'));
    const stepKey = c.req.param('stepKey');
    const planKey = planKeyOf(stepKey);
    if (!run.plan.steps.some((s) => s.key === planKey) && run.plan.reuse[stepKey] === undefined) {
      throw new NotFoundError(`run '${run.runId}' has no step '${stepKey}'`);
    }
    const url = new URL(c.req.url);
    const logs = ctx.instance.computeLogs;
    const stdout = (await logs?.read(run.runId, stepKey, 'stdout')) ?? '';
    const stderr = (await logs?.read(run.runId, stepKey, 'stderr')) ?? '';
    const body: LogsResponse = {
      stdout: stdout.slice(intParam(url, 'stdoutFrom', 0, 0, Number.MAX_SAFE_INTEGER)),
      stderr: stderr.slice(intParam(url, 'stderrFrom', 0, 0, Number.MAX_SAFE_INTEGER)),
      stdoutLength: stdout.length,
      stderrLength: stderr.length,
    };
    return c.json(body);
  });
}
