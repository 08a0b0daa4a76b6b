import { randomUUID } from 'node:crypto';
import { deepMerge } from '../config/deep-merge.js';
import { redactConfig, redactPlan, redactValue } from '../config/redact.js';
import { runConfigSecrets } from '../config/resolve-env.js';
import { validateRunConfig } from '../config/run-config.js';
import { UsageError } from '../errors/index.js';
import { makeEvent } from '../events/events.js';
import { PARENT_RUN_TAG, planReexecution, type ReexecutionPlan, ROOT_RUN_TAG } from '../execution/reexecute.js';
import { replayStoredRun } from '../execution/replay-stored-run.js';
import type { Instance } from '../instance/instance.js';
import { codeLocationOf, FILE_TAG, loadCodeLocation } from '../location/code-location.js';
import { buildPlan } from '../plan/build-plan.js';
import { requireRun } from '../runs/read-run.js';
import { type RunRecord, TERMINAL_RUN_STATUSES } from '../storage/run-storage.js';

export interface SubmitReexecutionOptions {
  /** The pipeline file; default the one the parent recorded (tag stepwise/file). */
  file?: string;
  /** Re-run what did not succeed and what depends on it (see planReexecution). */
  fromFailure?: boolean;
  /** Re-run exactly these steps (selection syntax). */
  stepSelection?: string | string[];
  /** Deep-merged over the parent's run config. */
  runConfig?: unknown;
  tags?: Record<string, string>;
  runId?: string;
}

/** What {@link submitReexecution} stored: the child run's id and what it runs and reuses. */
export interface SubmittedReexecution extends ReexecutionPlan {
  runId: string;
}

/**
 * A re-execution of a finished run, stored QUEUED for the daemon (as `submitRun` stores a run) instead of run in
 * this process: the same plan as {@link planReexecution} (the steps chosen run, the others' outputs are reused), a
 * child run linked to its parent (`parentRunId`, `rootRunId`, tags). For servers that do not run steps (the web UI).
 */
export async function submitReexecution(
  instance: Instance,
  parentRunId: string,
  options: SubmitReexecutionOptions = {},
): Promise<SubmittedReexecution> {
  const parent = await requireRun(instance, parentRunId);
  if (!TERMINAL_RUN_STATUSES.includes(parent.status)) {
    throw new UsageError(`run ${parentRunId} is ${parent.status}: only a finished run can be re-executed`);
  }
  const { pipeline, definitions } = await loadCodeLocation(codeLocationOf(parent, options.file));
  if (parent.pipeline !== pipeline.name) {
    throw new UsageError(`run ${parentRunId} is a run of pipeline '${parent.pipeline}', not '${pipeline.name}'`);
  }
  const view = replayStoredRun(parent.plan, parent.runId, await instance.storage.getEvents(parent.runId));
  const planned = planReexecution(pipeline, parent, view, {
    ...(options.fromFailure ? { fromFailure: true } : {}),
    ...(options.stepSelection === undefined ? {} : { stepSelection: options.stepSelection }),
  });
  const raw =
    options.runConfig === undefined ? (parent.runConfig ?? {}) : deepMerge(parent.runConfig ?? {}, options.runConfig);
  const all = planned.steps.length === pipeline.order.length;
  const config = validateRunConfig(pipeline, raw, all ? {} : { steps: new Set(planned.steps) });
  const plan = buildPlan(pipeline, config, all ? {} : { stepSelection: planned.steps, reuse: planned.reuse });
  const rootRunId = parent.rootRunId ?? parent.runId;
  const tags: Record<string, string> = {
    ...parent.tags,
    ...config.tags,
    ...options.tags,
    [PARENT_RUN_TAG]: parent.runId,
    [ROOT_RUN_TAG]: rootRunId,
    [FILE_TAG]: definitions.file,
  };
  const runId = options.runId ?? randomUUID();
  const now = Date.now();
  const secrets = runConfigSecrets(raw);
  const record: RunRecord = {
    runId,
    pipeline: pipeline.name,
    status: 'QUEUED',
    runConfig: redactConfig(raw, { secrets }),
    plan: redactPlan(plan, { secrets }),
    tags: redactValue(tags, { secrets }),
    parentRunId: parent.runId,
    rootRunId,
    createdAt: now,
    updatedAt: now,
  };
  await instance.storage.createRun(record);
  await instance.storage.appendEvents([
    makeEvent(
      'ENGINE_EVENT',
      runId,
      { kind: 'queued', details: { file: definitions.file, pipeline: pipeline.name, parentRunId: parent.runId } },
      { message: `re-execution of ${parent.runId} queued for the daemon (${planned.steps.length} steps to run)` },
    ),
  ]);
  return { runId, ...planned };
}
