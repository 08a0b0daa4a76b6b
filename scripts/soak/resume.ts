/**
 * Coordinator recovery (issue 6) as the soak uses it: the library's `resumeRun`, found at run time, so that the
 * soak runs (without the coordinator kill) on a build of @stepwise/core that does not have it yet.
 */
import * as core from '@stepwise/core';

export type ResumeRun = (
  pipeline: core.PipelineDefinition,
  runId: string,
  options: { instance: core.Instance; runConfig?: unknown; executor?: core.Executor; force?: boolean },
) => Promise<core.RunResult>;

/** `resumeRun` when this build of @stepwise/core exports it. */
export function findResumeRun(): ResumeRun | undefined {
  if (!('resumeRun' in core)) return undefined;
  const exported = (core as Record<string, unknown>).resumeRun;
  return typeof exported === 'function' ? (exported as ResumeRun) : undefined;
}
