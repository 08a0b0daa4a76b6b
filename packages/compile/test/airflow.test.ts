import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AIRFLOW_RUNNER,
  inProcessOutputs,
  makeHome,
  PIPELINES,
  type ProcessResult,
  run,
  STEPWISE_CMD,
  stepwise,
  storedOutputs,
} from './harness.js';

interface DagDescription {
  dag_id: string;
  schedule_interval: string | null;
  catchup: boolean;
  tasks: Array<{
    task_id: string;
    operator: string;
    mapped: boolean;
    trigger_rule: string;
    retries: number;
    upstream: string[];
    expand?: Record<string, string>;
  }>;
  step_keys: Record<string, string>;
}

interface RunState {
  states: Record<string, string>;
  instances: Record<string, string>;
  tries: Record<string, number>;
  logs: Record<string, string[]>;
}

const AIRFLOW_RUN_ID = 'manual__2026-12-03T10:00:00+00:00';

function ok(result: ProcessResult): ProcessResult {
  if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

async function compile(home: string, dir: string, pipeline: string, extra: string[] = []): Promise<string> {
  const out = join(dir, 'dags');
  ok(
    await stepwise(
      ['airflow', 'compile', '-f', PIPELINES, '-p', pipeline, '-o', out, '--stepwise-cmd', STEPWISE_CMD, ...extra],
      home,
    ),
  );
  return out;
}

async function describeDag(file: string): Promise<DagDescription> {
  return JSON.parse(ok(await run('python3', [AIRFLOW_RUNNER, 'describe', file], {})).stdout) as DagDescription;
}

async function runDag(
  file: string,
  home: string,
  stateFile: string,
  env: Record<string, string> = {},
  resume?: { clear: string },
) {
  const args = [AIRFLOW_RUNNER, 'run', file, '--run-id', AIRFLOW_RUN_ID, '--state', stateFile];
  if (resume) args.push('--resume', stateFile, '--clear', resume.clear);
  ok(await run('python3', args, { STEPWISE_HOME: home, ...env }, 120_000));
  return JSON.parse(readFileSync(stateFile, 'utf8')) as RunState;
}

/** The Stepwise run id execute-step makes of `fanout__<Airflow run id>` (safe for paths and Redis keys). */
async function runIdOf(home: string, pipeline: string): Promise<string> {
  const list = ok(await stepwise(['runs', 'list', '--json'], home));
  const runs = JSON.parse(list.stdout) as Array<{ runId: string; pipeline: string }>;
  const found = runs.filter((r) => r.pipeline === pipeline);
  expect(found).toHaveLength(1);
  return (found[0] as { runId: string }).runId;
}

describe('stepwise airflow compile', { timeout: 300_000 }, () => {
  it('writes a DAG file that Airflow rules accept, with the tasks and edges of the plan, the same bytes each time', async () => {
    const { dir, home } = makeHome();
    const out = await compile(home, dir, 'fanout');
    const dag = readFileSync(join(out, 'fanout.py'), 'utf8');
    const plan = JSON.parse(readFileSync(join(out, 'fanout.plan.json'), 'utf8'));
    // Self-contained: nothing of Stepwise or the pipeline is imported at parse time.
    expect(dag).not.toMatch(/^\s*(import|from)\s+(stepwise|node)/m);
    const d = await describeDag(join(out, 'fanout.py'));
    expect(d).toMatchObject({ dag_id: 'fanout', schedule_interval: null, catchup: false });
    const steps = plan.plan.steps as Array<{ key: string; upstream: string[]; scope?: { step: string } }>;
    expect(Object.values(d.step_keys).sort()).toEqual(steps.map((s) => s.key).sort());
    const byId = new Map(d.tasks.map((t) => [t.task_id, t]));
    for (const step of steps) {
      const task = byId.get(step.key);
      expect(task, step.key).toBeDefined();
      const upstream = step.upstream.map((u) => (u === step.scope?.step ? `${step.key}.mapping_keys` : u));
      expect(task?.upstream, step.key).toEqual(upstream.sort());
    }
    expect(byId.get('square')).toMatchObject({ mapped: true, retries: 2, expand: { env: 'square.mapping_keys' } });
    expect(byId.get('square.mapping_keys')).toMatchObject({ operator: 'PythonOperator', upstream: ['numbers'] });
    expect(byId.get('total')?.trigger_rule).toBe('none_failed');
    expect(d.tasks).toHaveLength(steps.length + 1);

    const again = await compile(home, join(dir, 'again'), 'fanout');
    expect(readFileSync(join(again, 'fanout.py'))).toEqual(readFileSync(join(out, 'fanout.py')));
    expect(readFileSync(join(again, 'fanout.plan.json'))).toEqual(readFileSync(join(out, 'fanout.plan.json')));
  });

  it('the Airflow double holds a DAG file to Airflow rules', async () => {
    const { dir, home } = makeHome();
    const out = await compile(home, dir, 'midway', ['--schedule', '0 3 * * *']);
    const source = readFileSync(join(out, 'midway.py'), 'utf8');
    expect((await describeDag(join(out, 'midway.py'))).schedule_interval).toBe('0 3 * * *');
    const broken = async (name: string, text: string, message: RegExp) => {
      const file = join(out, `${name}.py`);
      writeFileSync(file, text);
      const result = await run('python3', [AIRFLOW_RUNNER, 'describe', file], {});
      expect(result.code, name).not.toBe(0);
      expect(result.stderr, name).toMatch(message);
    };
    await broken('bad_id', source.replace('task_id="first"', 'task_id="first step"'), /alphanumeric characters/);
    await broken('long_id', source.replace('task_id="first"', `task_id="${'f'.repeat(251)}"`), /less than 250/);
    await broken(
      'unknown_arg',
      source.replace('append_env=True,', 'append_env=True, cwd="/",'),
      /Invalid arguments were passed to BashOperator/,
    );
    await broken(
      'duplicate',
      source.replace('task_id="last"', 'task_id="first"'),
      /DuplicateTaskIdFound|already been added/,
    );
    await broken('dangling', source.replace('("first", "fragile")', '("first", "nope")'), /KeyError: 'nope'/);
    await broken('cycle', source.replace('EDGES = [', 'EDGES = [\n    ("last", "first"),'), /Cycle detected/);
    await broken(
      'trigger_rule',
      source.replace('trigger_rule="none_failed"', 'trigger_rule="sometimes"'),
      /trigger_rule must be one of/,
    );
    await broken('undiscovered', source.replace(/airflow/gi, 'af').replace(/dag/gi, 'x'), /DAG discovery/);
    await broken('syntax', `${source}\n)`, /SyntaxError/);
  });

  it('runs as the LocalExecutor would: the Stepwise run ends with the outputs of an in-process run', async () => {
    const { dir, home } = makeHome();
    const out = await compile(home, dir, 'fanout');
    const state = await runDag(join(out, 'fanout.py'), home, join(dir, 'state.json'));
    expect(state.states).toMatchObject({
      numbers: 'success',
      branch: 'success',
      square: 'expanded',
      after_odd: 'skipped', // its optional input was not produced: execute-step exited 99
      after_even: 'success',
      total: 'success',
      report: 'success',
    });
    expect(state.instances).toEqual({ 'square[0]': 'success', 'square[1]': 'success', 'square[2]': 'success' });
    expect(state.tries['square[1]']).toBe(2); // failed once, retried by Airflow (retries from the op's policy)
    expect(state.logs.numbers?.[0]?.trimEnd().split('\n').at(-1)).toBe('["n0","n1","n2"]');
    const runId = await runIdOf(home, 'fanout');
    expect(runId).toMatch(/^fanout__manual__2026-12-03T10_00_00_00_00-[0-9a-f]{8}$/);
    const { run: record, outputs, ends } = await storedOutputs(home, runId);
    expect(record.status).toBe('SUCCESS');
    expect(ends).toEqual(['RUN_SUCCESS']); // recorded once, by the task that ended the run
    expect(outputs).toEqual(await inProcessOutputs('fanout'));
    expect(outputs['report.result']).toBe('total=14 even=3');
  });

  it('an empty fan-out: the mapped task is skipped and the collect step still runs (trigger rule none_failed)', async () => {
    const { dir, home } = makeHome();
    const config = join(dir, 'none.yaml');
    writeFileSync(config, 'ops:\n  numbers:\n    config: { count: 0 }\n');
    const out = await compile(home, dir, 'fanout', ['-c', config]);
    const state = await runDag(join(out, 'fanout.py'), home, join(dir, 'state.json'));
    expect(state.states).toMatchObject({ square: 'skipped', total: 'success', report: 'success' });
    const { run: record, outputs } = await storedOutputs(home, await runIdOf(home, 'fanout'));
    expect(record.status).toBe('SUCCESS');
    expect(outputs['total.result']).toBe(0);
  });

  it('two root tasks racing --create-run create one run (SQLite and PostgreSQL)', async ({ task }) => {
    const { inject } = await import('vitest');
    const { dropSchema, randomSchemaName } = await import('../../../test/setup/postgres.js');
    const url = inject('databaseUrl');
    const schema = randomSchemaName('compile');
    try {
      for (const storage of [{ sqlite: {} }, { postgres: { url, schema } }]) {
        const { dir, home } = makeHome({ storage });
        const out = await compile(home, dir, 'fanout');
        const args = (step: string) => [
          'execute-step',
          '-f',
          PIPELINES,
          '--create-run',
          '--plan',
          join(out, 'fanout.plan.json'),
          '--run-id',
          'race-1',
          '--step',
          step,
        ];
        const results = await Promise.all([stepwise(args('numbers'), home), stepwise(args('branch'), home)]);
        for (const r of results) ok(r);
        const instanceRuns = JSON.parse(ok(await stepwise(['runs', 'list', '--json'], home)).stdout) as unknown[];
        expect(instanceRuns, `${task.name} ${Object.keys(storage)[0]}`).toHaveLength(1);
        const { Instance } = await import('@stepwise/core');
        const instance = await Instance.local(home);
        try {
          const starts = await instance.storage.getEvents('race-1', { types: ['RUN_START'] });
          expect(starts).toHaveLength(1);
          expect(results.filter((r) => r.stdout.includes('SUCCESS'))).toHaveLength(2);
        } finally {
          await instance.close();
        }
      }
    } finally {
      await dropSchema(url, schema);
    }
  });

  it('a stored run of another plan under the same id is an error, not an overwrite', async () => {
    const { dir, home } = makeHome();
    const out = await compile(home, dir, 'fanout');
    const other = await compile(home, join(dir, 'other'), 'midway');
    const step = (plan: string, key: string) =>
      stepwise(
        ['execute-step', '-f', PIPELINES, '--create-run', '--plan', plan, '--run-id', 'shared', '--step', key],
        home,
      );
    ok(await step(join(out, 'fanout.plan.json'), 'branch'));
    const clash = await step(join(other, 'midway.plan.json'), 'first');
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/run 'shared' exists and was created from another plan/);
    const { run: record } = await storedOutputs(home, 'shared');
    expect(record.pipeline).toBe('fanout');
  });

  it('a task cleared and run again from the middle completes the run; secrets stay out of task output', async () => {
    const { dir, home } = makeHome();
    const out = await compile(home, dir, 'midway');
    const fix = join(dir, 'fixed');
    const secret = 'hunter2-s3cr3t-value';
    const env = { STEPWISE_TEST_FIX_FILE: fix, STEPWISE_TEST_SECRET: secret };
    const stateFile = join(dir, 'state.json');
    const first = await runDag(join(out, 'midway.py'), home, stateFile, env);
    expect(first.states).toMatchObject({ first: 'success', fragile: 'failed', last: 'upstream_failed' });
    const runId = await runIdOf(home, 'midway');
    expect((await storedOutputs(home, runId)).run.status).toBe('FAILURE');
    const log = (first.logs.fragile ?? []).join('\n');
    expect(log).toMatch(/cannot reach postgres:\/\/app:\*\*\*@db.internal/);
    expect(log).not.toContain(secret);

    writeFileSync(fix, 'fixed');
    const second = await runDag(join(out, 'midway.py'), home, stateFile, env, { clear: 'fragile' });
    expect(second.states).toMatchObject({ first: 'success', fragile: 'success', last: 'success' });
    const { run: record, outputs, ends } = await storedOutputs(home, runId);
    expect(record.status).toBe('SUCCESS');
    expect(ends).toEqual(['RUN_FAILURE', 'RUN_SUCCESS']);
    expect(outputs['last.result']).toBe(20);
    expect(existsSync(fix)).toBe(true);
  });

  it('KubernetesPodOperator tasks (--image) run the same steps in emulated pods', async () => {
    const { dir, home } = makeHome();
    const out = await compile(home, dir, 'fanout', ['--image', 'registry.example/etl:1', '--namespace', 'data']);
    const d = await describeDag(join(out, 'fanout.py'));
    expect(new Set(d.tasks.filter((t) => !t.task_id.endsWith('.mapping_keys')).map((t) => t.operator))).toEqual(
      new Set(['KubernetesPodOperator']),
    );
    expect(d.tasks.find((t) => t.task_id === 'square')?.expand).toEqual({ arguments: 'square.mapping_keys' });
    const state = await runDag(join(out, 'fanout.py'), home, join(dir, 'state.json'), {
      STEPWISE_TEST_POD_COMMAND: STEPWISE_CMD,
    });
    // A pod exits 0 for a step the run skips (skip_on_exit_code is not in every provider version).
    expect(state.states).toMatchObject({ after_odd: 'success', report: 'success' });
    expect(state.logs.after_odd?.[0]).toMatch(/step after_odd of run .*: SKIPPED/);
    const { run: record, outputs } = await storedOutputs(home, await runIdOf(home, 'fanout'));
    expect(record.status).toBe('SUCCESS');
    expect(outputs).toEqual(await inProcessOutputs('fanout'));
  });

  it('refuses what cannot work, with exit 2 naming the thing', async () => {
    const memory = makeHome({ io: { memory: {} } });
    const refused = await stepwise(
      ['airflow', 'compile', '-f', PIPELINES, '-p', 'fanout', '-o', memory.dir],
      memory.home,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /io\.memory keeps step outputs in one process's memory.*use io\.fs on a volume every task can reach, or io\.redis/,
    );
    const { dir, home } = makeHome();
    const unknown = await stepwise(['airflow', 'compile', '-f', PIPELINES, '-p', 'nope', '-o', dir], home);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/pipeline 'nope' not found/);
    const badConfig = join(dir, 'bad.yaml');
    writeFileSync(badConfig, 'ops:\n  numbers:\n    config: { count: many }\n');
    const bad = await stepwise(
      ['airflow', 'compile', '-f', PIPELINES, '-p', 'fanout', '-c', badConfig, '-o', dir],
      home,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ops\.numbers\.config\.count/);
    const secretConfig = join(dir, 'secret.yaml');
    writeFileSync(
      secretConfig,
      'ops:\n  numbers:\n    config: { count: 2 }\nresources: {}\ntags: { apiToken: abcdefgh }\n',
    );
    const secret = await stepwise(
      ['airflow', 'compile', '-f', PIPELINES, '-p', 'fanout', '-c', secretConfig, '-o', dir],
      home,
    );
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/holds a secret at tags\.apiToken/);
    const fsWarning = await stepwise(
      ['airflow', 'compile', '-f', PIPELINES, '-p', 'fanout', '-o', join(dir, 'ok')],
      home,
    );
    expect(fsWarning.code).toBe(0);
    expect(fsWarning.stderr).toMatch(/warning: io\.fs stores step outputs under .*every task must see that directory/);
  });
});
