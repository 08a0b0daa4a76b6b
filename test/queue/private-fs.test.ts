// Intermediates across machines: examples/distributed on workers that each have a private filesystem (their own
// mount namespace with a private tmpfs over the intermediates directory, as two machines would), so no worker sees
// another's files. CI runs as root: `unshare -m` and `mount` work there.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deletePrefix, killAllWorkers, uniquePrefix, waitForWorkers } from '@stepwise/testing';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { CLI, ROOT, spawnWorker } from './harness.js';

const run = promisify(execFile);
const redisUrl = inject('redisUrl');
const PIPELINE = join(ROOT, 'examples/distributed/pipeline.ts');

let tmp: string;
let prefix: string;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'stepwise-private-fs-'));
  prefix = uniquePrefix();
});

afterEach(async () => {
  await killAllWorkers();
  await deletePrefix(redisUrl, prefix);
  rmSync(tmp, { recursive: true, force: true });
});

/** The example's two workers, each under `unshare -m` with a private tmpfs mounted over `dir`. */
async function privateWorkers(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const wrap = [
    'unshare',
    '-m',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount -t tmpfs none '${dir}' && exec "$0" "$@"`,
  ];
  const file = PIPELINE;
  spawnWorker({ redisUrl, prefix, file, name: 'io-machine', queues: ['io', 'default'], wrap, lockDurationMs: 5_000 });
  spawnWorker({ redisUrl, prefix, file, name: 'heavy-machine', queues: ['heavy'], wrap, lockDurationMs: 5_000 });
  await waitForWorkers(redisUrl, prefix, ['io-machine', 'heavy-machine']);
}

/** `stepwise run` of examples/distributed, each fetch_page output 5,000 values (about 15 KB: never inline). */
function runExample(home: string) {
  const config = join(tmp, 'run.yaml');
  const queue = { redisUrl, prefix, defaultQueue: 'default' };
  writeFileSync(config, JSON.stringify({ execution: { queue }, ops: { fetch_page: { config: { values: 5_000 } } } }));
  return run(process.execPath, [CLI, 'run', '-f', PIPELINE, '-c', config], {
    env: { ...process.env, STEPWISE_HOME: home },
    timeout: 90_000,
  }).then(
    (done) => ({ code: 0, out: done.stdout + done.stderr }),
    (failed: { code: number; stdout: string; stderr: string }) => ({
      code: failed.code,
      out: failed.stdout + failed.stderr,
    }),
  );
}

describe('intermediates across machines', () => {
  it('with the default stepwise.yaml (no io) a queue run keeps outputs in Redis and succeeds', async () => {
    const home = join(tmp, 'home');
    await privateWorkers(join(home, 'io'));
    const { code, out } = await runExample(home);
    expect(code, out).toBe(0);
    expect(out).toMatch(/SUCCESS/);
  }, 120_000);

  it('with an explicit io.fs that is not shared, the run fails naming the directory and the fix', async () => {
    const home = join(tmp, 'home');
    const dir = join(tmp, 'intermediates');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'stepwise.yaml'), `io:\n  fs: { dir: "${dir}" }\n`);
    await privateWorkers(dir);
    const { code, out } = await runExample(home);
    expect(code, out).toBe(1);
    expect(out).toContain(`the fs IO manager (io.fs.dir ${dir}) has no stored output`);
    expect(out).toContain(`a shared volume mounted at ${dir} on every machine`);
    expect(out).toContain('io: { redis: { url } }');
  }, 120_000);
});
