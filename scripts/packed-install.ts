/**
 * The packed-install check (run by .ci/run): packs every published package, checks each tarball's contents, installs
 * the tarballs into an empty project and uses them there as a user would: imports @stepwise/core, runs
 * `stepwise --help` and `stepwise worker --help`, and runs the etl example: without better-sqlite3 (it must fail
 * naming the `npm install` line: the SQLite driver is an optional peer), on PostgreSQL storage without pg (the same)
 * and with it (no SQLite driver compiled), and on SQLite with better-sqlite3.
 *
 *   npx tsx scripts/packed-install.ts [--keep]     # prints each phase's duration; exits 1 on any failure
 *
 * better-sqlite3 compiles from source here (no prebuilt download: about 85 s). Unless STEPWISE_PACKED_COMPILE=1,
 * the check installs it with --ignore-scripts and copies the workspace's build of the same version (the same
 * compiler output); with no such build it compiles.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { missingFiles, type PackageManifest, type PackedFile } from './packaging/packed-files.js';

const exec = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const PUBLISHED = ['core', 'executor-queue', 'worker', 'daemon', 'compile', 'ui'] as const;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await exec(cmd, args, {
      cwd,
      env: { ...userEnv(), ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

async function must(what: string, cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv) {
  const r = await run(cmd, args, cwd, env);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The environment a user's shell would have: none of the test runner's or the workspace's own settings. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('VITEST') || key === 'NODE_OPTIONS' || key === 'NODE_ENV' || key.startsWith('npm_'))
      delete env[key];
  }
  return env;
}

const timings: string[] = [];
async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const value = await fn();
  timings.push(`${name}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  console.log(`packed-install: ${timings.at(-1)}`);
  return value;
}

/** Packs every published package into `dest` (one npm process); returns the tarballs after checking their contents. */
async function packAll(dest: string): Promise<string[]> {
  const workspaces = PUBLISHED.flatMap((pkg) => ['-w', `packages/${pkg}`]);
  const r = await must('npm pack', 'npm', ['pack', '--json', '--pack-destination', dest, ...workspaces], ROOT);
  const infos = JSON.parse(r.stdout) as { name: string; filename: string; files: { path: string }[] }[];
  const problems: string[] = [];
  const tarballs: string[] = [];
  for (const [i, pkg] of PUBLISHED.entries()) {
    const info = infos.find((x) => x.name === `@stepwise/${pkg}`);
    if (!info) throw new Error(`npm pack gave no tarball for @stepwise/${pkg}`);
    const tarball = join(dest, info.filename);
    const extracted = join(dest, `x${i}`);
    mkdirSync(extracted);
    await must('tar', 'tar', ['-xzf', tarball, '-C', extracted], dest);
    const files: PackedFile[] = info.files.map(({ path }) => ({
      path,
      text: /\.(js|mjs|d\.ts)$/.test(path) ? readFileSync(join(extracted, 'package', path), 'utf8') : undefined,
    }));
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as PackageManifest;
    problems.push(...missingFiles(manifest, files));
    tarballs.push(tarball);
  }
  if (problems.length) throw new Error(`incomplete tarballs:\n${problems.join('\n')}`);
  return tarballs;
}

function expectIn(what: string, text: string, needle: string | RegExp): void {
  const ok = typeof needle === 'string' ? text.includes(needle) : needle.test(text);
  if (!ok) throw new Error(`${what}: expected ${needle} in:\n${text}`);
}

/** Installs better-sqlite3 into the project, reusing the workspace's compiled binary where it can. */
async function addSqlite(project: string): Promise<void> {
  const version = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  ).dependencies['better-sqlite3'] as string;
  const built = join(ROOT, 'node_modules/better-sqlite3');
  const builtVersion = existsSync(join(built, 'package.json'))
    ? (JSON.parse(readFileSync(join(built, 'package.json'), 'utf8')) as { version: string }).version
    : undefined;
  const reuse =
    process.env.STEPWISE_PACKED_COMPILE !== '1' && builtVersion === version && existsSync(join(built, 'build/Release'));
  const flags = ['install', '--no-audit', '--no-fund', '--save-exact', `better-sqlite3@${version}`];
  await must('npm install better-sqlite3', 'npm', reuse ? [...flags, '--ignore-scripts'] : flags, project);
  if (reuse) cpSync(join(built, 'build'), join(project, 'node_modules/better-sqlite3/build'), { recursive: true });
}

/**
 * A PostgreSQL-only user: stepwise.yaml names PostgreSQL storage, better-sqlite3 is not installed. Without pg the run
 * fails naming its npm install line; with pg (pure JS, no compile) the etl example runs.
 */
async function postgresOnly(project: string, databaseUrl: string): Promise<void> {
  const home = join(project, '.stepwise-pg');
  mkdirSync(home, { recursive: true });
  const schema = `packed_${process.pid}`;
  writeFileSync(
    join(home, 'stepwise.yaml'),
    `storage:\n  postgres: { url: { env: DATABASE_URL }, schema: ${schema} }\n`,
  );
  const env = { STEPWISE_HOME: home, DATABASE_URL: databaseUrl };
  const args = ['--no-install', 'stepwise', 'run', '-f', 'examples/etl/pipeline.ts'];
  const withoutPg = await run('npx', args, project, env);
  if (withoutPg.code !== 2) throw new Error(`etl without pg: exit ${withoutPg.code}, expected 2:\n${withoutPg.stderr}`);
  expectIn('etl without pg', withoutPg.stderr, 'npm install pg@');
  await must('npm install pg', 'npm', ['install', '--no-audit', '--no-fund', '--save-exact', 'pg@8.23.1'], project);
  try {
    const etl = await must('etl on PostgreSQL', 'npx', args, project, env);
    expectIn('etl on PostgreSQL', `${etl.stdout}${etl.stderr}`, /SUCCESS/);
  } finally {
    // The workspace's own pg (a root dependency), to leave the test database as it was.
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end());
  }
}

export async function packedInstall(
  keep: boolean,
  databaseUrl = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test',
): Promise<string[]> {
  const work = mkdtempSync(join(tmpdir(), 'stepwise-packed-'));
  const project = join(work, 'project');
  try {
    const tarballs = await phase('pack and check tarballs', () => packAll(work));
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      `${JSON.stringify({ name: 'packed-install-check', private: true, type: 'module' }, null, 2)}\n`,
    );
    await phase('npm install the tarballs', () =>
      must('npm install', 'npm', ['install', '--no-audit', '--no-fund', ...tarballs, 'zod@4.6.7'], project),
    );
    await phase('use the install', async () => {
      const imported = await must(
        'import @stepwise/core',
        'node',
        [
          '--input-type=module',
          '-e',
          "const c = await import('@stepwise/core'); console.log(typeof c.executePipeline, typeof c.op)",
        ],
        project,
      );
      expectIn('import', imported.stdout, 'function function');
      const help = await must('stepwise --help', 'npx', ['--no-install', 'stepwise', '--help'], project);
      for (const command of ['run', 'plan', 'worker', 'daemon', 'ui'])
        expectIn('stepwise --help', help.stdout, command);
      const worker = await must(
        'stepwise worker --help',
        'npx',
        ['--no-install', 'stepwise', 'worker', '--help'],
        project,
      );
      expectIn('stepwise worker --help', worker.stdout, '--concurrency');
      if (/docs\/(?!.*https)/.test(help.stdout.replaceAll(/https:\/\/\S+/g, ''))) {
        throw new Error(`stepwise --help names a repository path that does not ship:\n${help.stdout}`);
      }
      cpSync(join(ROOT, 'examples/etl'), join(project, 'examples/etl'), { recursive: true });
      const home = { STEPWISE_HOME: join(project, '.stepwise') };
      const args = ['--no-install', 'stepwise', 'run', '-f', 'examples/etl/pipeline.ts'];
      const withoutDriver = await run('npx', args, project, home);
      if (withoutDriver.code !== 2)
        throw new Error(`etl without better-sqlite3: exit ${withoutDriver.code}, expected 2:\n${withoutDriver.stderr}`);
      expectIn('etl without better-sqlite3', withoutDriver.stderr, 'npm install better-sqlite3@');
      expectIn('etl without better-sqlite3', withoutDriver.stderr, 'errors.md#dependency_missing');
    });
    await phase('PostgreSQL only: without pg, then with it', () => postgresOnly(project, databaseUrl));
    await phase('npm install better-sqlite3', () => addSqlite(project));
    await phase('run the etl example', async () => {
      const home = { STEPWISE_HOME: join(project, '.stepwise') };
      const args = ['--no-install', 'stepwise', 'run', '-f', 'examples/etl/pipeline.ts'];
      const etl = await must('stepwise run -f examples/etl/pipeline.ts', 'npx', args, project, home);
      expectIn('etl', `${etl.stdout}${etl.stderr}`, /SUCCESS/);
    });
    return timings;
  } finally {
    if (keep) console.log(`packed-install: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const start = Date.now();
  packedInstall(process.argv.includes('--keep')).then(
    () => console.log(`packed-install: passed in ${((Date.now() - start) / 1000).toFixed(1)} s`),
    (error: unknown) => {
      console.error(`packed-install: FAILED: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
