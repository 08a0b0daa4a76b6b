import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ConfigError,
  executePipeline,
  Instance,
  loadCodeLocation,
  PostgresRunStorage,
  storedRunPlan,
  validateRunConfig,
} from '@stepwise/core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const CLI = join(ROOT, 'packages/core/bin/stepwise.js');
const FIXTURE = join(ROOT, 'packages/core/test/fixtures/env-secret.ts');
const run = promisify(execFile);
const databaseUrl = inject('databaseUrl');

const tmp = mkdtempSync(join(tmpdir(), 'stepwise-env-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const VAR = `SW_TEST_API_URL_${process.pid}`;
const SECRET = 'tok-Env-s3cret-91-abc';
const runConfig = (seen: string) => ({
  ops: { call: { config: { seen } } },
  resources: { api: { config: { url: { env: VAR } } } },
});

describe('{ env: NAME } in run config', () => {
  it('gives the resource the variable, stores the reference and prints the value nowhere', async () => {
    const home = join(tmp, 'lib');
    const seen = join(tmp, 'seen-lib');
    const { pipeline } = await loadCodeLocation({ file: FIXTURE });
    const instance = await Instance.local(home);
    process.env[VAR] = SECRET;
    try {
      const result = await executePipeline(pipeline, { instance, runConfig: runConfig(seen) });
      expect(result.status).toBe('SUCCESS');
      expect(readFileSync(seen, 'utf8')).toBe(SECRET);
      const record = await instance.storage.getRun(result.runId);
      // The reference, not the value: a resume reads the variable again.
      expect(record?.runConfig).toEqual(runConfig(seen));
      expect(JSON.stringify(record)).not.toContain('Env-s3cret-91');
      const events = JSON.stringify(await instance.storage.getEvents(result.runId));
      expect(events).toContain('calling ***');
      expect(events).not.toContain('Env-s3cret-91');
      // A stored run rebuilt for a resume or a launch reads the variable anew (its stored plan is masked).
      process.env[VAR] = `${SECRET}-rotated`;
      const config = validateRunConfig(pipeline, record?.runConfig);
      const plan = record && storedRunPlan(pipeline, record, config, false);
      expect(plan?.resources).toEqual({ api: { url: `${SECRET}-rotated` } });
    } finally {
      delete process.env[VAR];
      await instance.close();
    }
  });

  it('refuses a run whose variable is not set, naming the key and the variable, before recording anything', async () => {
    const { pipeline } = await loadCodeLocation({ file: FIXTURE });
    const instance = Instance.ephemeral();
    const refused = await executePipeline(pipeline, { instance, runConfig: runConfig('x') }).catch((e) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).issues).toEqual([
      { path: 'resources.api.config.url', message: expect.stringContaining(`environment variable ${VAR} is not set`) },
    ]);
    expect(await instance.storage.listRuns()).toEqual([]);
  });

  it('from the CLI: the secret is in no output, no event, not in runs show and not in the stored config', async () => {
    const home = join(tmp, 'cli');
    const seen = join(tmp, 'seen-cli');
    const config = join(tmp, 'run.yaml');
    writeFileSync(
      config,
      `ops: { call: { config: { seen: "${seen}" } } }\nresources: { api: { config: { url: { env: ${VAR} } } } }\n`,
    );
    const env = { ...process.env, STEPWISE_HOME: home, [VAR]: SECRET };
    const done = await run(process.execPath, [CLI, 'run', '-f', FIXTURE, '-c', config, '--json'], {
      env,
      timeout: 60_000,
    });
    expect(readFileSync(seen, 'utf8')).toBe(SECRET);
    const runId = /"runId":"([^"]+)"/.exec(done.stdout)?.[1] as string;
    const show = await run(process.execPath, [CLI, 'runs', 'show', runId, '--json'], { env, timeout: 30_000 });
    for (const text of [done.stdout, done.stderr, show.stdout, show.stderr])
      expect(text).not.toContain('Env-s3cret-91');
    const instance = await Instance.local(home);
    try {
      expect(JSON.stringify(await instance.storage.getRun(runId))).not.toContain('Env-s3cret-91');
      expect(JSON.stringify(await instance.storage.getEvents(runId))).not.toContain('Env-s3cret-91');
    } finally {
      await instance.close();
    }
    const missing = await run(process.execPath, [CLI, 'run', '-f', FIXTURE, '-c', config], {
      env: { ...process.env, STEPWISE_HOME: home },
      timeout: 60_000,
    }).catch((e: { code: number; stderr: string }) => e);
    expect((missing as { code: number }).code).toBe(2);
    expect((missing as { stderr: string }).stderr).toMatch(
      new RegExp(`resources\\.api\\.config\\.url: the environment variable ${VAR} is not set`),
    );
  }, 120_000);
});

describe('{ env: NAME } in stepwise.yaml', () => {
  it('reads the storage URL and the Redis URL from the environment; a missing one names key and variable', async () => {
    const home = join(tmp, 'yaml');
    mkdirSync(home, { recursive: true });
    const schema = randomSchemaName('env');
    writeFileSync(
      join(home, 'stepwise.yaml'),
      [
        `storage: { postgres: { url: { env: SW_TEST_PG_URL }, schema: ${schema} } }`,
        'io: { redis: { url: { env: SW_TEST_REDIS_URL } } }',
        '',
      ].join('\n'),
    );
    try {
      process.env.SW_TEST_PG_URL = databaseUrl;
      process.env.SW_TEST_REDIS_URL = inject('redisUrl');
      const instance = await Instance.local(home);
      try {
        expect(instance.storage).toBeInstanceOf(PostgresRunStorage);
        await instance.init();
        expect(await instance.storage.listRuns()).toEqual([]);
        expect(instance.config?.io).toEqual({ redis: expect.objectContaining({ url: inject('redisUrl') }) });
      } finally {
        await instance.close();
      }
      delete process.env.SW_TEST_REDIS_URL;
      const refused = await Instance.local(home).catch((e) => e);
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as ConfigError).issues).toEqual([
        { path: 'io.redis.url', message: expect.stringContaining('environment variable SW_TEST_REDIS_URL is not set') },
      ]);
    } finally {
      delete process.env.SW_TEST_PG_URL;
      delete process.env.SW_TEST_REDIS_URL;
      await dropSchema(databaseUrl, schema);
    }
  });
});
