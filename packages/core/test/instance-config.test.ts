import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { dropSchema, randomSchemaName } from '../../../test/setup/postgres.js';
import {
  ConfigError,
  defineInstancePart,
  definePlugin,
  FsComputeLogManager,
  FsIOManager,
  Instance,
  type IOManager,
  loadInstanceConfig,
  MemoryIOManager,
  PostgresRunStorage,
  parseInstanceConfig,
  registerPlugin,
  SqliteRunStorage,
  StorageError,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'stepwise-instance-config-'));
let n = 0;
function home(yaml?: string): string {
  const dir = join(root, `home-${++n}`);
  mkdirSync(dir, { recursive: true });
  if (yaml !== undefined) writeFileSync(join(dir, 'stepwise.yaml'), yaml);
  return dir;
}

async function configError(fn: () => unknown): Promise<ConfigError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const opened: Instance[] = [];
afterAll(async () => {
  await Promise.all(opened.map((i) => i.close()));
  rmSync(root, { recursive: true, force: true });
});

describe('loadInstanceConfig', () => {
  const savedHome = process.env.STEPWISE_HOME;
  afterEach(() => {
    if (savedHome === undefined) delete process.env.STEPWISE_HOME;
    else process.env.STEPWISE_HOME = savedHome;
  });

  it('uses defaults under the home when there is no stepwise.yaml', async () => {
    const h = home();
    expect(await loadInstanceConfig(h)).toEqual({
      storage: { sqlite: { dir: join(h, 'storage') } },
      io: { fs: { dir: join(h, 'io') } },
      // No io named: a queue run keeps its outputs in Redis instead (test/queue/private-fs.test.ts).
      ioDefaulted: true,
      computeLogs: { fs: { dir: join(h, 'logs') } },
      runCoordinator: {},
      execution: {},
    });
  });

  it('reads runCoordinator.queued of SPEC §6, and refuses value with perUniqueValue', async () => {
    const h = home(`
runCoordinator:
  queued: { maxConcurrentRuns: 3, dequeueIntervalMs: 200,
            tagConcurrencyLimits: [ { key: team, value: ml, limit: 2 }, { key: tenant, perUniqueValue: true, limit: 1 } ] }
`);
    expect((await loadInstanceConfig(h)).runCoordinator.queued).toEqual({
      maxConcurrentRuns: 3,
      dequeueIntervalMs: 200,
      tagConcurrencyLimits: [
        { key: 'team', value: 'ml', limit: 2 },
        { key: 'tenant', perUniqueValue: true, limit: 1 },
      ],
    });
    await expect(
      loadInstanceConfig(
        home(
          'runCoordinator: { queued: { tagConcurrencyLimits: [ { key: a, value: b, perUniqueValue: true, limit: 1 } ] } }',
        ),
      ),
    ).rejects.toThrow(/tagConcurrencyLimits\[0\]: give value or perUniqueValue, not both/);
  });

  it('takes the home from $STEPWISE_HOME, then ./.stepwise', async () => {
    const h = home();
    process.env.STEPWISE_HOME = h;
    expect((await loadInstanceConfig()).storage).toEqual({ sqlite: { dir: join(h, 'storage') } });
    delete process.env.STEPWISE_HOME;
    expect((await loadInstanceConfig()).io).toEqual({ fs: { dir: resolve('.stepwise', 'io') } });
  });

  it('resolves relative dirs against the directory of stepwise.yaml and keeps absolute ones', async () => {
    const h = home(`
storage:
  sqlite: { dir: ./db }
io:
  fs: { dir: ../shared/io }
computeLogs:
  fs: { dir: /var/tmp/stepwise-logs }
runCoordinator:
  queued: { tagConcurrencyLimits: [ { key: team, value: ml, limit: 2 } ] }
execution:
  queue: { redisUrl: 'redis://10.0.0.1:6379', defaultQueue: io }
`);
    expect(await loadInstanceConfig(h)).toMatchObject({
      storage: { sqlite: { dir: join(h, 'db') } },
      io: { fs: { dir: join(h, '..', 'shared', 'io') } },
      computeLogs: { fs: { dir: '/var/tmp/stepwise-logs' } },
      runCoordinator: {
        queued: {
          maxConcurrentRuns: 10,
          dequeueIntervalMs: 1_000,
          tagConcurrencyLimits: [{ key: 'team', value: 'ml', limit: 2 }],
        },
      },
      execution: { queue: { redisUrl: 'redis://10.0.0.1:6379', defaultQueue: 'io' } },
    });
  });

  it('accepts postgres storage, redis io and memory blocks written as empty keys', async () => {
    const h = home(
      'storage:\n  postgres: { url: "postgres://u@db:5432/x", schema: stepwise }\nio:\n  redis: { url: "redis://r:6379", prefix: sw }\ncomputeLogs:\n  memory:\n',
    );
    const config = await loadInstanceConfig(h);
    expect(config.storage).toEqual({ postgres: { url: 'postgres://u@db:5432/x', schema: 'stepwise' } });
    expect(config.io).toEqual({ redis: { url: 'redis://r:6379', prefix: 'sw' } });
    expect(config.computeLogs).toEqual({ memory: {} });
  });

  it('lists every unknown key and bad value by path', async () => {
    const h = home(`
storage:
  sqlite: { dir: 5, journal: wal }
io:
  fs: {}
  memory: {}
runCoordinator:
  queued: { maxConcurrentRuns: -1, tagConcurrencyLimits: [ { key: team, limit: two } ] }
telemetry: { enabled: true }
`);
    const error = await configError(() => loadInstanceConfig(h));
    const byPath = Object.fromEntries(error.issues.map((i) => [i.path, i.message]));
    expect(byPath).toMatchObject({
      'storage.sqlite.dir': 'expected string, got number',
      'storage.sqlite.journal': 'unknown key',
      telemetry: 'unknown key',
      'runCoordinator.queued.tagConcurrencyLimits[0].limit': 'expected number, got string',
    });
    expect(byPath['runCoordinator.queued.maxConcurrentRuns']).toBe('must be greater than 0');
    expect(byPath.io).toMatch(/only one of: fs, memory, redis/);
    expect(error.message).toContain(join(h, 'stepwise.yaml'));
    expect(error.message).toContain('storage.sqlite.journal: unknown key');
  });

  it('rejects an empty kind block and an unknown kind', async () => {
    const error = await configError(() =>
      parseInstanceConfig({ storage: {}, io: { s3: { bucket: 'b' } } }, { home: root }),
    );
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { path: 'storage', message: 'choose one of: sqlite, postgres, memory' },
        {
          path: 'io.s3',
          message: expect.stringMatching(/^unknown key: no IO manager .*under plugins in stepwise\.yaml$/),
        },
      ]),
    );
  });

  it('names the file, line and column of malformed YAML', async () => {
    const h = home('storage:\n  sqlite: { dir: ./db\nio: [\n');
    const error = await configError(() => loadInstanceConfig(h));
    expect(error.message).toContain(join(h, 'stepwise.yaml'));
    expect(error.message).toMatch(/line \d+, column \d+/);
  });
});

describe('Instance.fromConfig / Instance.local', () => {
  it('builds a default local instance with SQLite, fs IO and fs logs, creating its dirs', async () => {
    const h = home();
    const instance = await Instance.local(h);
    opened.push(instance);
    expect(instance.home).toBe(h);
    expect(instance.storage).toBeInstanceOf(SqliteRunStorage);
    expect(instance.io).toBeInstanceOf(FsIOManager);
    expect(instance.computeLogs).toBeInstanceOf(FsComputeLogManager);
    expect(instance.config?.storage).toEqual({ sqlite: { dir: join(h, 'storage') } });
    await instance.io.store({ runId: 'r', step: 's', output: 'result' }, { ok: true });
    expect(await instance.io.load({ runId: 'r', step: 's', output: 'result' })).toEqual({ ok: true });
    expect(await instance.storage.listRuns()).toEqual([]);
  });

  it('builds a PostgreSQL-backed instance from a config object', async () => {
    const url = inject('databaseUrl');
    const schema = randomSchemaName('instance');
    try {
      const instance = await Instance.fromConfig(
        { storage: { postgres: { url, schema } }, io: { memory: {} }, computeLogs: { memory: {} } },
        { home: home() },
      );
      expect(instance.storage).toBeInstanceOf(PostgresRunStorage);
      expect(await instance.storage.listRuns()).toEqual([]);
      await instance.close();
    } finally {
      await dropSchema(url, schema);
    }
  });

  it('fails with a StorageError when PostgreSQL is unreachable', async () => {
    await expect(
      Instance.fromConfig({ storage: { postgres: { url: 'postgres://postgres@127.0.0.1:5999/x' } } }, { home: home() }),
    ).rejects.toThrow(/could not connect to PostgreSQL at 127\.0\.0\.1:5999/);
  });

  it('resolves registered IO manager kinds, and names an unregistered one', async () => {
    const made: Array<{ url: string }> = [];
    registerPlugin(
      definePlugin({
        name: 'fake-io',
        io: [
          defineInstancePart({
            kind: 'fake',
            description: 'an IO manager for this test',
            options: z.strictObject({ url: z.string() }),
            create: (options, context) => {
              made.push(options);
              expect(context.home).toBeTruthy();
              return new MemoryIOManager() as IOManager;
            },
          }),
        ],
      }),
    );
    const instance = await Instance.fromConfig(
      { storage: { memory: {} }, io: { fake: { url: 'redis://x:1' } } },
      { home: home() },
    );
    expect(made).toEqual([{ url: 'redis://x:1' }]);
    await expect(Instance.fromConfig({ io: { s3: {} } }, { home: home() })).rejects.toThrow(/io\.s3: unknown key/);
    expect(instance.io).toBeInstanceOf(MemoryIOManager);
    await instance.close();
  });

  it('rejects a bad config object with a ConfigError', async () => {
    await expect(Instance.fromConfig({ storage: { sqlite: { dir: '' } } } as never, { home: home() })).rejects.toThrow(
      /storage\.sqlite\.dir: must not be empty/,
    );
  });

  it('fails with a StorageError naming an io dir that cannot be created', async () => {
    const file = join(root, 'blocker');
    writeFileSync(file, '');
    await expect(Instance.fromConfig({ io: { fs: { dir: join(file, 'io') } } }, { home: home() })).rejects.toSatisfy(
      (e) => e instanceof StorageError && e.message.includes(join(file, 'io')) && e.message.includes('io.fs.dir'),
    );
  });
});
