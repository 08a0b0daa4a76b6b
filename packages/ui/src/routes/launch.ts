import {
  ConfigError,
  cancelRun,
  FILE_TAG,
  type PipelineDefinition,
  resolvePipeline,
  submitReexecution,
  submitRun,
} from '@stepwise/core';
import type { Hono } from 'hono';
import type { CancelRunResponse, ReexecuteResponse, SubmitRunResponse, ValidateResponse } from '../api-types.js';
import { UiRequestError } from '../errors.js';
import { optionalString, readJsonObject } from '../http/body.js';
import { errorAnswer } from '../http/respond.js';
import type { UiContext } from '../ui-context.js';
import { configIssues, readConfigInput } from '../views/config-input.js';
import { requireRunRecord } from './runs.js';

async function pipelineOf(ctx: UiContext, name: string | undefined): Promise<PipelineDefinition> {
  return resolvePipeline(await ctx.definitions(), name);
}

function tagsOf(body: Record<string, unknown>, what: string): Record<string, string> | undefined {
  const tags = body.tags;
  if (tags === undefined || tags === null) return undefined;
  if (typeof tags !== 'object' || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) {
    throw new UiRequestError('BAD_REQUEST', `${what}: 'tags' must be an object of strings ({"team":"ml"})`);
  }
  return tags as Record<string, string>;
}

/** POST /api/runs, /api/validate, /api/runs/:id/cancel, /api/runs/:id/reexecute. */
export function launchRoutes(app: Hono, ctx: UiContext): void {
  app.post('/api/validate', async (c) => {
    const body = await readJsonObject(c.req.raw, 'POST /api/validate');
    const pipeline = await pipelineOf(ctx, optionalString(body, 'pipeline', 'POST /api/validate'));
    const errors = configIssues(pipeline, readConfigInput(body.runConfig));
    return c.json({ ok: errors.length === 0, errors } satisfies ValidateResponse);
  });

  app.post('/api/runs', async (c) => {
    const what = 'POST /api/runs';
    const body = await readJsonObject(c.req.raw, what);
    const pipeline = await pipelineOf(ctx, optionalString(body, 'pipeline', what));
    const input = readConfigInput(body.runConfig);
    const issues = configIssues(pipeline, input);
    if (issues.length > 0) {
      const { status, body: error } = errorAnswer(
        new ConfigError(`run config for pipeline '${pipeline.name}'`, issues),
        issues,
      );
      return c.json(error, status);
    }
    const priority = body.priority;
    if (priority !== undefined && (typeof priority !== 'number' || !Number.isSafeInteger(priority))) {
      throw new UiRequestError('BAD_REQUEST', `${what}: 'priority' must be an integer`);
    }
    const tags = tagsOf(body, what);
    const runId = await submitRun(ctx.instance, {
      file: ctx.file as string,
      pipeline: pipeline.name,
      runConfig: input.value,
      ...(tags ? { tags } : {}),
      ...(priority === undefined ? {} : { priority }),
    });
    return c.json({ runId } satisfies SubmitRunResponse, 201);
  });

  app.post('/api/runs/:id/cancel', async (c) => {
    const run = await requireRunRecord(ctx, c.req.param('id'));
    const result = await cancelRun(ctx.instance, run.runId);
    return c.json({ action: result.action, status: result.status } satisfies CancelRunResponse, 202);
  });

  app.post('/api/runs/:id/reexecute', async (c) => {
    const what = `POST /api/runs/${c.req.param('id')}/reexecute`;
    const run = await requireRunRecord(ctx, c.req.param('id'));
    const body = await readJsonObject(c.req.raw, what);
    const select = optionalString(body, 'select', what);
    if (body.fromFailure !== undefined && typeof body.fromFailure !== 'boolean') {
      throw new UiRequestError('BAD_REQUEST', `${what}: 'fromFailure' must be true or false`);
    }
    // The file the run recorded wins; -f FILE stands in for runs that recorded none.
    const file = run.tags[FILE_TAG] ?? ctx.file;
    const child = await submitReexecution(ctx.instance, run.runId, {
      ...(file === undefined ? {} : { file }),
      ...(body.fromFailure === true ? { fromFailure: true } : {}),
      ...(select === undefined ? {} : { stepSelection: select }),
    });
    const answer: ReexecuteResponse = {
      runId: child.runId,
      parentRunId: run.runId,
      steps: child.steps,
      reuse: child.reuse,
    };
    return c.json(answer, 201);
  });
}
