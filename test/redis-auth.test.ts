import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { executePipeline, Instance } from '@stepwise/core';
import { listWorkers, RedisKeys } from '@stepwise/executor-queue';
import {
  killAllWorkers,
  type RedisServer,
  startRedisServer,
  uniquePrefix,
  waitForWorkers,
  waitUntil,
  within,
} from '@stepwise/testing';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { diamondDynamic } from './fixtures/queue-pipelines.js';
import { CLI, FIXTURE, queueConfig, spawnWorker } from './queue/harness.js';

// Redis with ACL users (and TLS when this redis-server was built with it): the coordinator, workers and the CLI
// take credentials from the URL (`redis://user:password@host:port`, `rediss://` for TLS), work end to end with
// them, never print the password, and fail fast with a clear message when they are wrong.

const execFileAsync = promisify(execFile);
const USER = 'alice';
const PASSWORD = 's3cret-Acl-42';
const ACL = ['--user', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '--user', 'default', 'off'];

/** Runs the CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
async function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      env: { ...process.env, FORCE_COLOR: '0', ...env },
      timeout: timeoutMs,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    if (e.killed) throw new Error(`stepwise ${args.join(' ')} did not finish within ${timeoutMs} ms`);
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'stepwise-redis-auth-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(async () => {
  await killAllWorkers();
});

describe('Redis with ACL user and password', () => {
  let redis: RedisServer;
  let url: string;
  beforeAll(async () => {
    redis = await startRedisServer({ args: ACL, dir: tmp });
    url = `redis://${USER}:${PASSWORD}@127.0.0.1:${redis.port}`;
  });
  afterAll(() => redis.stop());

  it('is really protected: without credentials every command is refused', async () => {
    const anonymous = new Redis(`redis://127.0.0.1:${redis.port}`, { maxRetriesPerRequest: 0, lazyConnect: true });
    anonymous.on('error', () => {});
    try {
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });

  it('runs a pipeline on a worker with the credentials in the URL, and stores or prints no password', async () => {
    const prefix = uniquePrefix();
    const worker = spawnWorker({ redisUrl: url, prefix, name: 'acl-worker' });
    await waitForWorkers(url, prefix, ['acl-worker']);
    const instance = Instance.ephemeral();
    const result = await within(
      executePipeline(diamondDynamic, { runConfig: queueConfig(url, prefix), instance }),
      30_000,
      'the run over the ACL-protected Redis',
    );
    expect(result.status).toBe('SUCCESS');
    const local = await executePipeline(diamondDynamic);
    for (const key of ['total', 'grand', 'add']) expect(result.output(key)).toEqual(local.output(key));
    const stored = JSON.stringify([
      await instance.storage.getRun(result.runId),
      await instance.storage.getEvents(result.runId),
    ]);
    expect(stored).toContain(`${USER}:***@`);
    expect(stored).not.toContain(PASSWORD);
    expect(worker.output()).not.toContain(PASSWORD);

    const listed = await cli(['workers', '--json', '--redis', url, '--prefix', prefix]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).workers.map((w: { name: string }) => w.name)).toEqual(['acl-worker']);
    expect(listed.stdout + listed.stderr).not.toContain(PASSWORD);
  }, 60_000);

  it('fails fast with a one-line message when the password is wrong', async () => {
    const bad = `redis://${USER}:wrong-password@127.0.0.1:${redis.port}`;
    const started = Date.now();

    // `stepwise workers`: non-zero exit, one line on stderr naming the cause, the password masked.
    const listed = await cli(['workers', '--redis', bad], {}, 15_000);
    expect(listed.code).not.toBe(0);
    const message = listed.stderr.trim().split('\n')[0] ?? '';
    expect(message).toMatch(/WRONGPASS|password|auth/i);
    expect(listed.stderr).not.toContain('wrong-password');
    expect(listed.stdout).toBe('');

    // `stepwise worker`: refuses to start (exit 2) instead of retrying forever.
    const worker = spawnWorker({ redisUrl: bad, prefix: uniquePrefix(), name: 'bad-worker' });
    expect(await worker.exited(15_000)).toBe(2);
    expect(worker.output()).toMatch(/WRONGPASS/);
    expect(worker.output()).not.toContain('wrong-password');

    // The coordinator: the run is rejected before any step, with the cause.
    await expect(
      within(
        executePipeline(diamondDynamic, { runConfig: queueConfig(bad, uniquePrefix()) }),
        15_000,
        'the run with a wrong password to be rejected',
      ),
    ).rejects.toThrow(/WRONGPASS/);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});

describe('Redis over TLS (rediss://) with ACL credentials', () => {
  let redis: RedisServer;
  let url: string;
  let caFile: string;
  beforeAll(async () => {
    const key = join(tmp, 'tls-key.pem');
    caFile = join(tmp, 'tls-cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        caFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    // Debian's redis-server is built with TLS; one built without it exits here saying so.
    redis = await startRedisServer({
      tls: true,
      dir: tmp,
      args: [
        '--tls-cert-file',
        caFile,
        '--tls-key-file',
        key,
        '--tls-ca-cert-file',
        caFile,
        '--tls-auth-clients',
        'no',
        ...ACL,
      ],
    });
    url = `rediss://${USER}:${PASSWORD}@127.0.0.1:${redis.port}`;
  }, 30_000);
  afterAll(() => redis?.stop());

  /** A test-side client: this process cannot take NODE_EXTRA_CA_CERTS after start, so it passes the CA itself. */
  function tlsClient(extra: RedisOptions = {}): Redis {
    return new Redis({
      host: '127.0.0.1',
      port: redis.port,
      username: USER,
      password: PASSWORD,
      tls: { ca: readFileSync(caFile) },
      maxRetriesPerRequest: 1,
      ...extra,
    });
  }

  it('serves TLS only: a plain connection gets nothing back', async () => {
    const plain = new Redis(`redis://${USER}:${PASSWORD}@127.0.0.1:${redis.port}`, {
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      retryStrategy: () => null,
    });
    plain.on('error', () => {});
    try {
      await expect(within(plain.ping(), 5_000, 'a plain ping')).rejects.toThrow();
    } finally {
      plain.disconnect();
    }
    const secure = tlsClient();
    try {
      expect(await secure.ping()).toBe('PONG');
    } finally {
      secure.disconnect();
    }
  });

  it('runs a pipeline from the CLI on a worker, both over rediss:// with the password in the URL', async () => {
    const prefix = uniquePrefix();
    // Children trust the self-signed certificate through Node's standard variable.
    const env = { NODE_EXTRA_CA_CERTS: caFile };
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = caFile;
    let worker: ReturnType<typeof spawnWorker>;
    try {
      worker = spawnWorker({ redisUrl: url, prefix, name: 'tls-worker' });
    } finally {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
    }
    const client = tlsClient();
    try {
      await waitUntil(
        async () => (await listWorkers(client, new RedisKeys(prefix))).some((w) => w.name === 'tls-worker'),
        20_000,
        `the TLS worker to register (output: ${worker.output().slice(-500)})`,
      );
    } finally {
      client.disconnect();
    }

    const home = mkdtempSync(join(tmp, 'home-'));
    const config = join(tmp, 'tls-run.yaml');
    writeFileSync(
      config,
      `execution:\n  queue:\n    redisUrl: ${url}\n    prefix: '${prefix}'\n    lockDurationMs: 1000\n`,
    );
    const ran = await cli(['run', '-f', FIXTURE, '-p', 'diamond_dynamic', '-c', config, '--json'], {
      ...env,
      STEPWISE_HOME: home,
    });
    const lines = ran.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; status?: string; workerId?: string });
    expect(ran.code, ran.stderr).toBe(0);
    expect(lines.at(-1)).toMatchObject({ type: 'RUN_SUMMARY', status: 'SUCCESS' });
    expect(lines.filter((l) => l.type === 'STEP_START').every((l) => l.workerId === 'tls-worker')).toBe(true);
    expect(ran.stdout + ran.stderr).not.toContain(PASSWORD);
    expect(worker.output()).not.toContain(PASSWORD);

    // Without the CA the same URL is refused (certificate check), quickly. (The message does not name the
    // certificate yet: `stepwise workers` reports ioredis' MaxRetriesPerRequestError.)
    const untrusted = await cli(['workers', '--redis', url, '--prefix', prefix], {}, 15_000);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/^stepwise: error: /);
    expect(untrusted.stderr).not.toContain(PASSWORD);
  }, 90_000);
});
