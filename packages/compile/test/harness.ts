import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executePipeline, Instance, loadDefinitions, type RunRecord, resolvePipeline } from '@stepwise/core';
import { type ProcessResult, runProcess } from '@stepwise/testing';
import { stringify } from 'yaml';

// The built CLI, as a scheduler's task runs it (`npm test` builds first).
export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const BIN = join(ROOT, 'packages/core/bin/stepwise.js');
export const STEPWISE_CMD = `${process.execPath} ${BIN}`;
export const PIPELINES = join(ROOT, 'packages/compile/test/fixtures/pipelines.ts');
export const AIRFLOW_RUNNER = join(ROOT, 'packages/compile/test/airflow-double/runner.py');

export type { ProcessResult };

/** Runs a command to its end (killed after `timeoutMs`), with the given environment added. */
export async function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ProcessResult> {
  try {
    return await runProcess(command, args, {
      cwd: ROOT,
      env: { STEPWISE_DEBUG: '', FORCE_COLOR: '0', ...env },
      timeoutMs,
    });
  } catch (error) {
    // python3 runs the Airflow test double; say how to get it rather than only ENOENT.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${command} not found: install it (apt-get install -y ${command})`);
    }
    throw error;
  }
}

/** `stepwise ARGS` with STEPWISE_HOME=home. */
export function stepwise(args: string[], home: string, env: Record<string, string> = {}): Promise<ProcessResult> {
  return run(process.execPath, [BIN, ...args], { STEPWISE_HOME: home, ...env });
}

/** A fresh directory with an instance home in it (its stepwise.yaml from `config`, defaults without one). */
export function makeHome(config?: Record<string, unknown>): { dir: string; home: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-compile-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  if (config) writeFileSync(join(home, 'stepwise.yaml'), stringify(config));
  return { dir, home };
}

/** Every output of the run's successful steps, by `step.output` (mapping keys in brackets), from the instance. */
export async function storedOutputs(
  home: string,
  runId: string,
): Promise<{ run: RunRecord; outputs: Record<string, unknown>; ends: string[] }> {
  const instance = await Instance.local(home);
  try {
    const run = await instance.storage.getRun(runId);
    if (!run) throw new Error(`run ${runId} not found in ${home}`);
    const outputs: Record<string, unknown> = {};
    for (const e of await instance.storage.getEvents(runId, { types: ['STEP_OUTPUT'] })) {
      if (e.type !== 'STEP_OUTPUT' || e.stepKey === undefined) continue;
      const { output, mappingKey } = e.data;
      const ref = { runId, step: e.stepKey, output, ...(mappingKey === undefined ? {} : { mappingKey }) };
      outputs[`${e.stepKey}.${output}${mappingKey === undefined ? '' : `[${mappingKey}]`}`] =
        await instance.io.load(ref);
    }
    const ends = await instance.storage.getEvents(runId, { types: ['RUN_SUCCESS', 'RUN_FAILURE', 'RUN_CANCELED'] });
    return { run, outputs, ends: ends.map((e) => e.type) };
  } finally {
    await instance.close();
  }
}

/** The same pipeline run in this process on an instance of its own: the outputs a compiled run must end with. */
export async function inProcessOutputs(pipelineName: string): Promise<Record<string, unknown>> {
  const { home } = makeHome();
  const defs = await loadDefinitions(PIPELINES);
  const instance = await Instance.local(home);
  try {
    const result = await executePipeline(resolvePipeline(defs, pipelineName), { instance });
    if (result.status !== 'SUCCESS') throw new Error(`in-process run of ${pipelineName}: ${result.status}`);
    return (await storedOutputs(home, result.runId)).outputs;
  } finally {
    await instance.close();
  }
}
