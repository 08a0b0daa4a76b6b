import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// These tests run the built CLI (dist), as a user does: `npm test` builds it first (tsc -b).
const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const BIN = join(ROOT, 'packages/core/bin/stepwise.js');
const FIXTURES = 'packages/core/test/fixtures';
const EXAMPLE = 'examples/etl/pipeline.ts';

let home: string;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, STEPWISE_HOME: home, STEPWISE_DEBUG: '', FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finish(child: ChildProcess, timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stepwise timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return finish(start(args, env));
}

interface RunJson {
  runId: string;
  pipeline: string;
  status: string;
  parentRunId: string | null;
  tags: Record<string, string>;
  createdAt: number;
}

interface ShowJson extends RunJson {
  finished: boolean;
  steps: Array<{ key: string; status: string; attempts: number; reused: boolean; reusedFrom?: string; error?: string }>;
}

async function listRuns(...args: string[]): Promise<RunJson[]> {
  const r = await cli(['runs', 'list', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunJson[];
}

async function showRun(runId: string): Promise<ShowJson> {
  const r = await cli(['runs', 'show', runId, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ShowJson;
}

/** A usage error: exit 2, one `stepwise: error:` line on stderr, never a stack trace. */
function expectUsageError(r: CliResult, ...mentions: string[]): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^stepwise: error: /);
  expect(r.stderr).not.toContain('    at ');
  for (const m of mentions) expect(r.stderr).toContain(m);
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'stepwise-cli-'));
  // Broken on purpose, so written here rather than kept in the repository (where tsc and biome would read them).
  writeFileSync(join(home, 'syntax-error.ts'), '// does not parse\nexport const x = {;\n');
  writeFileSync(join(home, 'bad.yaml'), 'ops:\n  extract: { config: { partitions: 3 }\n  load: [\n');
});

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe('stepwise run', { timeout: 60_000 }, () => {
  it('runs the etl example, records it, and shows its steps', async () => {
    const r = await cli(['run', '-f', EXAMPLE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/RUN_SUCCESS/);
    expect(r.stdout).toMatch(/SUCCESS in .*: 9 steps, 8 succeeded, 1 skipped/);
    const runs = await listRuns('--pipeline', 'etl');
    const run = runs.find((x) => r.stdout.includes(x.runId));
    expect(run?.status).toBe('SUCCESS');
    expect(run?.tags['stepwise/file']).toBe(join(ROOT, EXAMPLE));
    expect(run?.parentRunId).toBeNull();

    const shown = await showRun(run?.runId as string);
    expect(shown.finished).toBe(true);
    const step = (key: string) => shown.steps.find((s) => s.key === key);
    expect(step('extract')).toMatchObject({ status: 'SUCCESS', attempts: 1, reused: false });
    expect(step('transform[p1]')).toMatchObject({ status: 'SUCCESS', attempts: 2 });
    expect(step('transform[p0]')).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    expect(step('quarantine')?.status).toBe('SKIPPED');
    expect(shown.steps).toHaveLength(9);

    const logs = await cli(['runs', 'logs', run?.runId as string, '--step', 'report']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('loaded 100 orders into orders');
  });

  it('prints JSON Lines with --json and honours -c files and --tag', async () => {
    const r = await cli(['run', '-f', EXAMPLE, '-c', 'examples/etl/config.yaml', '--tag', 'team=qa', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; runId: string; status?: string });
    expect(lines[0]?.type).toBe('RUN_START');
    expect(lines.at(-2)?.type).toBe('RUN_SUCCESS');
    expect(lines.at(-1)).toMatchObject({ type: 'RUN_SUMMARY', status: 'SUCCESS' });
    // What the steps print goes to stderr, so stdout stays JSON Lines.
    expect(r.stderr).toContain('loaded 240 orders');
    // config.yaml asks for 6 partitions.
    expect(
      lines.filter(
        (e) => e.type === 'STEP_START' && String((e as { stepKey?: string }).stepKey).startsWith('transform['),
      ),
    ).toHaveLength(7);
    const tagged = await listRuns('--tag', 'team=qa');
    expect(tagged.map((x) => x.runId)).toEqual([lines[0]?.runId]);
  });

  it('exits 1 when the run fails, printing the error', async () => {
    const r = await cli(['run', '-f', `${FIXTURES}/failing.ts`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('STEP_FAILURE');
    expect(r.stdout).toContain('b is broken');
    const [run] = await listRuns('--pipeline', 'failing', '--limit', '1');
    expect(run?.status).toBe('FAILURE');
  });

  it('reports a missing file, a file that throws, an unknown pipeline and bad YAML in one line, exit 2', async () => {
    expectUsageError(await cli(['run', '-f', 'nowhere/pipeline.ts']), "'nowhere/pipeline.ts' not found");
    const throws = await cli(['run', '-f', `${FIXTURES}/throws.ts`]);
    expectUsageError(throws, 'throws.ts', 'database URL is not set');
    expect(throws.stderr).not.toContain('second line');
    expectUsageError(await cli(['run', '-f', join(home, 'syntax-error.ts')]), 'syntax-error.ts:2:');
    expectUsageError(await cli(['run', '-f', EXAMPLE, '-p', 'etll']), "pipeline 'etll'", EXAMPLE, "did you mean 'etl'");
    expectUsageError(await cli(['run', '-f', EXAMPLE, '-c', join(home, 'bad.yaml')]), 'bad.yaml:3:3');
    expectUsageError(await cli(['run', '-f', EXAMPLE, '-c', 'missing.yaml']), "'missing.yaml' not found");
    expectUsageError(await cli(['run', '-f', EXAMPLE, '--tag', 'oops']), '--tag');
  });

  it('exits 1 with the error for a bug in the pipeline file (an ENOENT at its top level), not 2', async () => {
    const r = await cli(['run', '-f', `${FIXTURES}/bug.ts`]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^stepwise: error: could not load '.*bug\.ts': ENOENT/);
    expect(r.stderr).toContain('no-such-settings.json');
    expect(r.stderr).toContain('STEPWISE_DEBUG=1');
  });

  it('rejects a bad run config before any step runs, listing every path', async () => {
    const before = (await listRuns()).length;
    const r = await cli(['run', '-f', EXAMPLE, '-c', `${FIXTURES}/bad-config.yaml`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^stepwise: error: run config .* is invalid/);
    expect(r.stderr).toContain('ops.extract.config.partitions');
    expect(r.stderr).toContain('ops.extract.config.bogus');
    expect(r.stderr).toContain('resources.warehouse.config.table');
    expect(r.stderr).not.toContain('    at ');
    expect(r.stdout).not.toContain('STEP_START');
    expect(await listRuns()).toHaveLength(before);
  });

  it('bad usage exits 2', async () => {
    const r = await cli(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give the pipeline file with -f FILE');
    expect((await cli(['run', '-f', EXAMPLE, '--executor', 'nowhere'])).code).toBe(2);
    expect((await cli(['no-such-command'])).code).toBe(2);
  });
});

describe('stepwise plan', { timeout: 60_000 }, () => {
  it('prints JSON that round-trips, DOT, and text', async () => {
    const r = await cli(['plan', '-f', EXAMPLE, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { pipeline: string; steps: Array<{ key: string; scope?: unknown }> };
    expect(`${JSON.stringify(plan, null, 2)}\n`).toBe(r.stdout);
    expect(plan.pipeline).toBe('etl');
    expect(plan.steps.map((s) => s.key).sort()).toEqual([
      'extract',
      'load',
      'quarantine',
      'report',
      'transform',
      'validate',
    ]);
    expect(plan.steps.find((s) => s.key === 'transform')?.scope).toEqual({ step: 'extract', output: 'result' });

    const dot = await cli(['plan', '-f', EXAMPLE, '--dot']);
    expect(dot.code, dot.stderr).toBe(0);
    expect(dot.stdout).toMatch(/^digraph /);
    expect(dot.stdout).toContain('"extract"');

    const text = await cli(['plan', '-f', EXAMPLE, '--select', '*load']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("plan of pipeline 'etl'");
    expect(text.stdout).toContain('selection: extract, transform, validate, load');
  });
});

describe('stepwise runs / cancel / reexecute / execute-step', { timeout: 60_000 }, () => {
  it('unknown run ids exit 2', async () => {
    const id = '00000000-0000-0000-0000-000000000000';
    expectUsageError(await cli(['runs', 'show', id]), id);
    expectUsageError(await cli(['runs', 'logs', id]), id);
    expectUsageError(await cli(['cancel', id]), id);
    expectUsageError(await cli(['reexecute', id, '--from-failure']), id);
    expectUsageError(await cli(['execute-step', '-f', `${FIXTURES}/failing.ts`, '--run-id', id, '--step', 'b']), id);
  });

  it('cancel from a second process makes a running run CANCELED', async () => {
    const background = start(['run', '-f', `${FIXTURES}/slow.ts`]);
    const exited = finish(background, 30_000);
    let runId: string | undefined;
    const deadline = Date.now() + 15_000;
    while (!runId && Date.now() < deadline) {
      const started = await listRuns('--pipeline', 'slow', '--status', 'STARTED');
      runId = started[0]?.runId;
      if (!runId) await new Promise((r) => setTimeout(r, 100));
    }
    expect(runId, 'the slow run never showed up as STARTED').toBeDefined();
    const cancel = await cli(['cancel', runId as string]);
    expect(cancel.code, cancel.stderr).toBe(0);
    const result = await exited;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('RUN_CANCELED');
    const shown = await showRun(runId as string);
    expect(shown.status).toBe('CANCELED');
    expect(shown.steps.find((s) => s.key === 'wait')?.status).toBe('CANCELED');
    expect(shown.steps.find((s) => s.key === 'after')?.status).toBe('NOT_STARTED');
    // Canceling a run that has ended is not an error: there is nothing left to do.
    const again = await cli(['cancel', runId as string]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already ended');
  });

  it('runs show lists a run whose coordinator was killed as not finished; cancel --force ends it', async () => {
    const background = start(['run', '-f', `${FIXTURES}/slow.ts`, '--tag', 'case=kill']);
    const exited = finish(background, 30_000);
    let runId: string | undefined;
    const deadline = Date.now() + 15_000;
    while (!runId && Date.now() < deadline) {
      const started = await listRuns('--tag', 'case=kill', '--status', 'STARTED');
      runId = started[0]?.runId;
      if (!runId) await new Promise((r) => setTimeout(r, 100));
    }
    expect(runId, 'the slow run never showed up as STARTED').toBeDefined();
    // Let the first step finish and the long one start, then kill the coordinator.
    const waitDeadline = Date.now() + 15_000;
    while (Date.now() < waitDeadline) {
      const shown = await showRun(runId as string);
      if (shown.steps.find((s) => s.key === 'wait')?.status === 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    background.kill('SIGKILL');
    expect((await exited).code).toBeNull();
    const shown = await showRun(runId as string);
    expect(shown).toMatchObject({ status: 'STARTED', finished: false });
    expect(shown.steps.map((s) => [s.key, s.status])).toEqual([
      ['start', 'SUCCESS'],
      ['wait', 'RUNNING'],
      ['after', 'PENDING'],
    ]);
    const text = await cli(['runs', 'show', runId as string]);
    expect(text.stdout).toContain('not finished');
    const forced = await cli(['cancel', '--force', runId as string]);
    expect(forced.code, forced.stderr).toBe(0);
    const after = await showRun(runId as string);
    expect(after).toMatchObject({ status: 'CANCELED', finished: true });
    expect(after.steps.find((s) => s.key === 'wait')?.status).toBe('CANCELED');
  });

  it('execute-step --create-run: its options, a missing or malformed plan, are usage errors (exit 2)', async () => {
    const base = ['execute-step', '-f', `${FIXTURES}/failing.ts`, '--run-id', 'r1', '--step', 'a'];
    expectUsageError(
      await cli([...base, '--plan', 'p.json']),
      '--plan, --keys-file, --mapping-key and --skip-exit-code go with --create-run',
    );
    expectUsageError(await cli([...base, '--create-run']), '--create-run needs --plan FILE');
    expectUsageError(
      await cli([...base, '--create-run', '--plan', 'missing.plan.json']),
      "cannot read compiled plan 'missing.plan.json'",
    );
    const bad = join(home, 'bad.plan.json');
    writeFileSync(bad, JSON.stringify({ kind: 'something-else' }));
    expectUsageError(
      await cli([...base, '--create-run', '--plan', bad]),
      `compiled plan '${bad}' is invalid: kind: not a compiled plan`,
    );
    expectUsageError(
      await cli([...base, '--create-run', '--plan', bad, '--skip-exit-code', 'x']),
      '--skip-exit-code must be an exit code',
    );
  });

  it('execute-step runs one step of a stored run and records its events', async () => {
    const failed = await cli(['run', '-f', `${FIXTURES}/failing.ts`]);
    expect(failed.code).toBe(1);
    const [run] = await listRuns('--pipeline', 'failing', '--limit', '1');
    const runId = run?.runId as string;
    const args = (step: string) => ['execute-step', '-f', `${FIXTURES}/failing.ts`, '--run-id', runId, '--step', step];

    // c's upstream has not succeeded: it cannot run yet.
    expectUsageError(await cli(args('c')), "step 'c'", 'cannot run');
    expect((await cli(args('b'))).code).toBe(1);
    const fixed = await cli(args('b'), { STEPWISE_TEST_FIX: '1' });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('SUCCESS (attempt 3)');
    const c = await cli(args('c'));
    expect(c.code, c.stderr).toBe(0);

    const shown = await showRun(runId);
    expect(shown.steps.map((s) => [s.key, s.status, s.attempts])).toEqual([
      ['a', 'SUCCESS', 1],
      ['b', 'SUCCESS', 3],
      ['c', 'SUCCESS', 1],
    ]);
  });

  it('reexecute --from-failure reruns the failed steps, reusing the rest, with the recorded file', async () => {
    const failed = await cli(['run', '-f', `${FIXTURES}/failing.ts`]);
    expect(failed.code).toBe(1);
    const [parent] = await listRuns('--pipeline', 'failing', '--limit', '1');
    const r = await cli(['reexecute', parent?.runId as string, '--from-failure'], { STEPWISE_TEST_FIX: '1' });
    expect(r.code, r.stderr).toBe(0);
    const [child] = await listRuns('--pipeline', 'failing', '--limit', '1');
    expect(child?.parentRunId).toBe(parent?.runId);
    expect(r.stdout).toContain(child?.runId);
    const shown = await showRun(child?.runId as string);
    expect(shown.steps.map((s) => [s.key, s.status, s.reused])).toEqual([
      ['a', 'SUCCESS', true],
      ['b', 'SUCCESS', false],
      ['c', 'SUCCESS', false],
    ]);
    expect(shown.steps[0]?.reusedFrom).toBe(parent?.runId);
    // A run with nothing failed has nothing to re-execute from failure.
    expectUsageError(await cli(['reexecute', child?.runId as string, '--from-failure']), 'nothing to re-execute');
  });
});

describe('plugins from stepwise.yaml', { timeout: 60_000 }, () => {
  const PLUGIN = join(ROOT, FIXTURES, 'test-plugin.ts');

  /** A home whose stepwise.yaml loads the test plugin (an executor kind and a storage backend core does not know). */
  function pluginHome(yaml: string): string {
    const dir = mkdtempSync(join(home, 'plugin-home-'));
    writeFileSync(join(dir, 'stepwise.yaml'), `plugins: [${JSON.stringify(PLUGIN)}]\n${yaml}`);
    return dir;
  }

  it('runs on a plugin executor named by --executor and by the run config, with defaults merged in order', async () => {
    const h = pluginHome(
      'storage:\n  jsonFile: { file: ./runs.json }\nexecution:\n  testRecorder: { label: from-yaml }\n',
    );
    const marker = join(h, 'marker.json');
    const viaFlag = await cli(['run', '-f', EXAMPLE, '--executor', 'test-recorder'], { STEPWISE_HOME: h });
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    expect(viaFlag.stdout).toMatch(/RUN_SUCCESS/);

    writeFileSync(join(h, 'run.yaml'), `execution:\n  testRecorder: { markerFile: ${JSON.stringify(marker)} }\n`);
    const viaConfig = await cli(['run', '-f', EXAMPLE, '-c', join(h, 'run.yaml')], { STEPWISE_HOME: h });
    expect(viaConfig.code, viaConfig.stderr).toBe(0);
    // The kind's defaults, then stepwise.yaml's, then the run config's: the later wins.
    expect(JSON.parse(readFileSync(marker, 'utf8'))).toEqual({ label: 'from-yaml', markerFile: marker });

    // Both runs went to the plugin's storage backend, which another process reads back.
    const stored = JSON.parse(readFileSync(join(h, 'runs.json'), 'utf8')) as { runs: Record<string, unknown> };
    expect(Object.keys(stored.runs)).toHaveLength(2);
    const listed = await cli(['runs', 'list', '--json'], { STEPWISE_HOME: h });
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as RunJson[]).map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS']);
  });

  it('reports a bad plugin option by path, an unknown --executor with the choices, and a missing plugin by index', async () => {
    const h = pluginHome('');
    writeFileSync(join(h, 'run.yaml'), 'execution:\n  testRecorder: { delayMs: soon }\n');
    expectUsageError(
      await cli(['run', '-f', EXAMPLE, '-c', join(h, 'run.yaml')], { STEPWISE_HOME: h }),
      'execution.testRecorder.delayMs: expected number, got string',
    );
    expectUsageError(
      await cli(['run', '-f', EXAMPLE, '--executor', 'nowhere'], { STEPWISE_HOME: h }),
      'in-process, multiprocess, test-recorder, queue',
    );
    const broken = mkdtempSync(join(home, 'plugin-home-'));
    writeFileSync(join(broken, 'stepwise.yaml'), 'plugins: [./no-such-plugin.ts]\n');
    expectUsageError(await cli(['runs', 'list'], { STEPWISE_HOME: broken }), 'plugins[0]', 'no-such-plugin.ts');
  });
});

describe('commands of other packages', { timeout: 60_000 }, () => {
  it('lists them in help and names the package to install when it is missing (exit 2)', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['worker', 'workers', 'daemon', 'submit', 'schedule', 'ui', 'airflow', 'argo']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
    // Every package is installed here: a resolve hook hides @stepwise/ui as a missing install would.
    const hidden = { NODE_OPTIONS: `--import=${pathToFileURL(join(ROOT, FIXTURES, 'hide-ui-package.mjs')).href}` };
    expectUsageError(await cli(['ui'], hidden), 'npm install @stepwise/ui');
    expect((await cli(['ui', '--help'])).stdout).toContain('--host');
    // @stepwise/compile is installed: its command is there, and its own options are checked.
    const compile = await cli(['argo', 'compile']);
    expect(compile.code).toBe(2);
    expect(compile.stderr).toContain("required option '-f, --file <file>' not specified");
  });
});
