// The stepwise.yaml the chart gives the daemon, UI and run workers: its `config` init container (the chart's own
// ConfigMap script, run here with node) puts the connection URLs in from the Secrets' environment, and the instance
// it describes opens on the real PostgreSQL and Redis.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Instance, loadPlugins, parseInstanceConfig } from '@stepwise/core';
import { deletePrefix, exitCode, waitUntil } from '@stepwise/testing';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { dropSchema, randomSchemaName } from '../setup/postgres.js';
import { find, type K8sObject, mainContainer, RELEASE, ROOT, render } from './chart.js';
import { killStarted, startCli, withFlag } from './cli-process.js';

const run = promisify(execFile);
const redisUrl = inject('redisUrl');
const databaseUrl = inject('databaseUrl');
const FIXTURE = join(ROOT, 'test/fixtures/queue-pipelines.ts');

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'stepwise-config-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes the ConfigMap's files where the pod mounts them, and returns their paths. */
function mountConfigMap(objects: K8sObject[]) {
  const data = find(objects, 'ConfigMap', `${RELEASE}-stepwise-config`).data as Record<string, string>;
  const etc = join(tmp, 'etc');
  const home = join(tmp, 'home');
  mkdirSync(etc);
  mkdirSync(home);
  for (const [file, text] of Object.entries(data)) writeFileSync(join(etc, file), text);
  return { script: join(etc, 'render-config.mjs'), template: join(etc, 'stepwise.yaml.tpl'), home };
}

async function initContainer(paths: ReturnType<typeof mountConfigMap>, env: Record<string, string>) {
  const out = join(paths.home, 'stepwise.yaml');
  const { PATH } = process.env;
  return run(process.execPath, [paths.script, paths.template, out], { env: { PATH, ...env }, timeout: 20_000 });
}

describe('stepwise.yaml from the chart', () => {
  it('opens the instance on PostgreSQL (the chart schema) and Redis IO with the workers prefix', async () => {
    const schema = randomSchemaName('chart');
    const objects = await render({ flags: ['--set', `postgres.schema=${schema}`, '--set', 'redis.prefix=chartcfg'] });
    const paths = mountConfigMap(objects);
    await initContainer(paths, { STEPWISE_POSTGRES_URL: databaseUrl, REDIS_URL: redisUrl });
    const file = join(paths.home, 'stepwise.yaml');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const instance = await Instance.local(paths.home);
    try {
      expect(instance.config?.storage).toEqual({ postgres: { url: databaseUrl, schema } });
      expect(instance.config?.io).toEqual({ redis: { url: redisUrl, prefix: 'chartcfg' } });
      expect(instance.config?.execution.queue?.prefix).toBe('chartcfg');
      await instance.init();
      expect(await instance.storage.listRuns()).toEqual([]);
    } finally {
      await instance.close();
      await dropSchema(databaseUrl, schema);
    }
  });

  it('writes any URL as a YAML string, however odd its characters', async () => {
    const paths = mountConfigMap(await render());
    const odd = `postgres://u:p"a: #x'y@db:5432/s?sslmode=require&x=[1]`;
    await initContainer(paths, { STEPWISE_POSTGRES_URL: odd, REDIS_URL: 'rediss://:pw{1}@r:6380/2' });
    const doc = parse(readFileSync(join(paths.home, 'stepwise.yaml'), 'utf8'));
    expect(doc.storage.postgres.url).toBe(odd);
    expect(doc.io.redis.url).toBe('rediss://:pw{1}@r:6380/2');
  });

  it('fails the pod start with exit 2 naming the variable when a Secret gave no URL', async () => {
    const paths = mountConfigMap(await render());
    const failed = await initContainer(paths, { REDIS_URL: redisUrl }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toMatch(/STEPWISE_POSTGRES_URL is empty; set the chart's url/);
  });

  it('merges `config` over what the chart sets, replacing a block that picks one kind', async () => {
    const objects = await render({
      flags: ['--set-json', 'config={"runCoordinator":{"queued":{"maxConcurrentRuns":3}},"computeLogs":{"memory":{}}}'],
    });
    const data = find(objects, 'ConfigMap', `${RELEASE}-stepwise-config`).data as Record<string, string>;
    const doc = parse(data['stepwise.yaml.tpl'] ?? '');
    expect(doc.runCoordinator).toEqual({ queued: { maxConcurrentRuns: 3 } });
    expect(doc.computeLogs).toEqual({ memory: {} });
    expect(doc.storage).toEqual({ postgres: { url: '__STEPWISE_POSTGRES_URL__' } });
    await loadPlugins(['@stepwise/executor-queue']);
    expect(() => parseInstanceConfig(doc, { home: tmp })).not.toThrow();
  });

  it('starts the chart daemon and runs-worker commands on it: the daemon runs its loops with the queue launcher', async () => {
    const schema = randomSchemaName('chartd');
    const prefix = `chartd-${Math.random().toString(36).slice(2, 8)}`;
    const objects = await render({
      flags: ['--set', `postgres.schema=${schema}`, '--set', `redis.prefix=${prefix}`, '--set', 'runs.enabled=true'],
    });
    const paths = mountConfigMap(objects);
    const env = { STEPWISE_POSTGRES_URL: databaseUrl, REDIS_URL: redisUrl };
    await initContainer(paths, env);
    const podEnv = { ...env, STEPWISE_HOME: paths.home };
    try {
      const daemonArgs = mainContainer(find(objects, 'Deployment', `${RELEASE}-stepwise-daemon`)).args;
      const daemon = startCli(withFlag(daemonArgs, '-f', FIXTURE), podEnv);
      const runsArgs = mainContainer(find(objects, 'Deployment', `${RELEASE}-stepwise-runs`)).args;
      expect(runsArgs).toEqual(['worker', '--runs', '--concurrency', '4']);
      const runs = startCli(runsArgs, podEnv);
      await waitUntil(() => daemon.output().includes('daemon started'), 30_000, "the daemon's 'daemon started'").catch(
        (e) => {
          throw new Error(daemon.output() + runs.output(), { cause: e });
        },
      );
      expect(daemon.output()).toMatch(/"launcher":"queue"/);
      await waitUntil(
        () => runs.output().includes('taking run coordinators from the runs queue'),
        30_000,
        'the runs worker to serve the runs queue',
      );
      expect(runs.output()).toMatch(/"queue":"runs"/);
      for (const p of [daemon, runs]) p.proc.kill('SIGTERM');
      expect(await exitCode(daemon.proc, 20_000, 'the daemon to stop')).toBe(0);
      expect(await exitCode(runs.proc, 20_000, 'the runs worker to stop')).toBe(0);
    } finally {
      await killStarted();
      await deletePrefix(redisUrl, prefix);
      await dropSchema(databaseUrl, schema);
    }
  }, 90_000);
});
