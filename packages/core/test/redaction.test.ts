import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';
import {
  buildPlan,
  ConfigError,
  collectSecretValues,
  executePipeline,
  Instance,
  isSecret,
  op,
  pipeline,
  REDACTED,
  type ResourceDefinition,
  redactConfig,
  redactEvent,
  resource,
  type StepwiseEvent,
  secret,
  validateRunConfig,
} from '@stepwise/core';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const BIN = join(ROOT, 'packages/core/bin/stepwise.js');

// The values that must never be stored or printed. Each reaches the run config a different way.
const PASSWORD = 'hunter2-pw-42'; // under a secret key (`password`)
const DSN = 'postgres://app:Pg-s3cret-77@db.internal:5432/app'; // secret(), logged and quoted in a message
const API_URL = 'https://api.example.com/v1?key=ak-9f8e7d6c5b'; // secret(), quoted in an error (value scrubbing)
const CACHE_URL = 'redis://alice:R3dis-pass-88@cache:6379'; // secret() in a resource config
const TOKEN = 'tok-0a1b2c3d4e'; // in a log field named `apiToken`
const ALL = [PASSWORD, DSN, API_URL, CACHE_URL, TOKEN];
// Parts of them that must not leak either (e.g. a URL's password printed on its own).
const PARTS = ['Pg-s3cret-77', 'ak-9f8e7d6c5b', 'R3dis-pass-88'];

describe('redactConfig and secret()', () => {
  it('masks values under secret keys, secret() values and URL passwords, in a deep copy', () => {
    const input = {
      user: 'app',
      password: 'p',
      dbPassword: 'p',
      api_key: 'k',
      'api-key': 'k',
      GITHUB_TOKEN: 't',
      privateKey: 'k',
      credentials: { user: 'u', pass: 'p' },
      clientSecret: 's',
      url: secret('postgres://u:p@h/db'),
      list: [{ token: 1 }, 'plain', secret('x')],
      plainUrl: 'postgres://u:pw@h/db',
      homepage: 'https://h/path?x=1',
      when: new Date(0),
    };
    const out = redactConfig(input) as Record<string, unknown>;
    expect(out).toEqual({
      user: 'app',
      password: REDACTED,
      dbPassword: REDACTED,
      api_key: REDACTED,
      'api-key': REDACTED,
      GITHUB_TOKEN: REDACTED,
      privateKey: REDACTED,
      credentials: REDACTED,
      clientSecret: REDACTED,
      url: REDACTED,
      list: [{ token: REDACTED }, 'plain', REDACTED],
      plainUrl: 'postgres://u:***@h/db',
      homepage: 'https://h/path?x=1',
      when: new Date(0),
    });
    // A copy: the input still holds the real values, and nothing is shared.
    expect(input.password).toBe('p');
    expect(isSecret(input.url)).toBe(true);
    expect(out.list).not.toBe(input.list);
    const nested = { a: { b: { c: 1 } } };
    expect((redactConfig(nested) as typeof nested).a).not.toBe(nested.a);
  });

  it('masks known secret strings inside other strings', () => {
    const secrets = collectSecretValues({ a: { password: PASSWORD }, b: secret(API_URL), c: 'not-a-secret' });
    expect(secrets.sort()).toEqual([API_URL, PASSWORD].sort());
    expect(redactConfig({ msg: `failed with ${PASSWORD} at ${API_URL}!` }, { secrets })).toEqual({
      msg: 'failed with *** at ***!',
    });
  });

  it('extends the key list with $STEPWISE_REDACT_KEYS', () => {
    const before = process.env.STEPWISE_REDACT_KEYS;
    try {
      expect(redactConfig({ dsn: 'x', ssn: 'y' })).toEqual({ dsn: 'x', ssn: 'y' });
      process.env.STEPWISE_REDACT_KEYS = 'dsn, SSN';
      expect(redactConfig({ dsn: 'x', primaryDsn: 'x', ssn: 'y', name: 'n' })).toEqual({
        dsn: REDACTED,
        primaryDsn: REDACTED,
        ssn: REDACTED,
        name: 'n',
      });
    } finally {
      if (before === undefined) delete process.env.STEPWISE_REDACT_KEYS;
      else process.env.STEPWISE_REDACT_KEYS = before;
    }
  });

  it('never prints a secret() value by accident', () => {
    const s = secret(PASSWORD);
    expect(JSON.stringify({ s })).toBe('{"s":"***"}');
    expect(String(s)).toBe(REDACTED);
    expect(`${s}`).toBe(REDACTED);
    expect(inspect({ s })).not.toContain(PASSWORD);
    expect(s.reveal()).toBe(PASSWORD);
    expect(() => secret(42 as unknown as string)).toThrow(TypeError);
  });

  it('masks log fields, error messages and stacks of events, and leaves engine-only events as they are', () => {
    const secrets = [PASSWORD];
    const log: StepwiseEvent = {
      type: 'LOG',
      runId: 'r',
      timestamp: 1,
      message: `using ${PASSWORD}`,
      data: { level: 'info', msg: `using ${PASSWORD}`, fields: { apiToken: TOKEN, n: 1 } },
    };
    expect(redactEvent(log, { secrets })).toEqual({
      ...log,
      message: 'using ***',
      data: { level: 'info', msg: 'using ***', fields: { apiToken: REDACTED, n: 1 } },
    });
    const failure: StepwiseEvent = {
      type: 'STEP_FAILURE',
      runId: 'r',
      timestamp: 1,
      data: { error: { name: 'Error', message: `bad ${PASSWORD}`, stack: `Error: bad ${PASSWORD}\n at x` } },
    };
    expect(JSON.stringify(redactEvent(failure, { secrets }))).not.toContain(PASSWORD);
    const start: StepwiseEvent = { type: 'STEP_START', runId: 'r', timestamp: 1, stepKey: PASSWORD, data: {} };
    expect(redactEvent(start, { secrets })).toBe(start);
  });
});

// --- A whole run: the ops see the real values; storage, events and the CLI never do. ---

const seen: Record<string, unknown> = {};

const cache = resource({
  config: z.object({ url: z.string() }),
  setup: ({ config }) => {
    seen.resourceUrl = config.url;
    return { url: config.url };
  },
}) as ResourceDefinition;

const connect = op({
  name: 'connect',
  config: z.object({ user: z.string(), password: z.string(), dsn: z.string() }),
  out: z.string(),
  compute: (ctx) => {
    seen.connect = { ...ctx.config };
    ctx.log.warn(
      { password: ctx.config.password, apiToken: TOKEN, dsn: ctx.config.dsn },
      `connecting to ${ctx.config.dsn}`,
    );
    return `connected as ${ctx.config.user}`;
  },
});

const callApi = op({
  name: 'call_api',
  config: z.object({ endpoint: z.string() }),
  ins: { ready: z.string() },
  out: z.number(),
  retry: { maxRetries: 1, delayMs: 1 },
  compute: (ctx) => {
    seen.endpoint = ctx.config.endpoint;
    // The first attempt fails with an error that quotes the secret: the stored STEP_UP_FOR_RETRY must not.
    if (ctx.attempt === 1) throw new Error(`request to ${ctx.config.endpoint} failed: 503`);
    ctx.emit({ kind: 'materialization', assetKey: 'api', metadata: { endpoint: ctx.config.endpoint, rows: 3 } });
    return 3;
  },
});

const secretive = pipeline({
  name: 'secretive',
  resources: { cache },
  build: () => {
    callApi({ ready: connect() });
  },
});

const runConfig = {
  ops: {
    connect: { config: { user: 'app', password: PASSWORD, dsn: secret(DSN) } },
    call_api: { config: { endpoint: secret(API_URL) } },
  },
  resources: { cache: { config: { url: secret(CACHE_URL) } } },
  tags: { team: 'data', deployToken: TOKEN },
};

function expectNoSecret(text: string, where: string): void {
  for (const value of [...ALL, ...PARTS]) {
    if (text.includes(value)) throw new Error(`${where} contains the secret ${JSON.stringify(value)}:\n${text}`);
  }
}

/** Every file under `dir`, concatenated (compute logs, IO values are not expected to hold config). */
function readTree(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    out += statSync(path).isDirectory() ? readTree(path) : readFileSync(path).toString('latin1');
  }
  return out;
}

describe('a run whose config carries secrets', () => {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-redact-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('validates and plans secret() values as the strings they wrap', () => {
    const plan = buildPlan(secretive, runConfig);
    expect(plan.steps.find((s) => s.key === 'connect')?.config).toEqual({ user: 'app', password: PASSWORD, dsn: DSN });
    expect(plan.resources).toEqual({ cache: { url: CACHE_URL } });
    expect(() =>
      validateRunConfig(secretive, { ...runConfig, ops: { connect: { config: { dsn: secret('x') } } } }),
    ).toThrow(ConfigError);
  });

  it('gives ops and resources the real values, and stores and prints none of them', async () => {
    const instance = await Instance.local(home);
    const live: StepwiseEvent[] = [];
    let runId: string;
    try {
      const result = await executePipeline(secretive, { runConfig, instance, onEvent: (e) => live.push(e) });
      runId = result.runId;
      expect(result.status).toBe('SUCCESS');
      expect(result.output('call_api')).toBe(3);
      expect(result.steps.call_api?.attempts).toBe(2);

      // The ops and the resource saw the real values.
      expect(seen.connect).toEqual({ user: 'app', password: PASSWORD, dsn: DSN });
      expect(seen.endpoint).toBe(API_URL);
      expect(seen.resourceUrl).toBe(CACHE_URL);

      // The run record: config and plan masked, the rest intact.
      const record = await instance.storage.getRun(runId);
      expectNoSecret(JSON.stringify(record), 'the stored run record');
      const stored = record?.plan.steps.find((s) => s.key === 'connect');
      expect(stored?.config).toEqual({ user: 'app', password: REDACTED, dsn: REDACTED });
      expect(record?.plan.resources).toEqual({ cache: { url: REDACTED } });
      expect(record?.runConfig).toMatchObject({ ops: { connect: { config: { user: 'app', password: REDACTED } } } });
      expect(record?.tags).toMatchObject({ team: 'data', deployToken: REDACTED });

      // Every stored event, and every event the caller saw live.
      const events = await instance.storage.getEvents(runId);
      expectNoSecret(JSON.stringify(events), 'the stored events');
      expectNoSecret(JSON.stringify(live), 'the events given to onEvent');
      const logEvent = events.find((e) => e.type === 'LOG' && e.stepKey === 'connect');
      expect(logEvent?.data).toMatchObject({
        fields: { password: REDACTED, apiToken: REDACTED, dsn: 'postgres://app:***@db.internal:5432/app' },
      });
      const retry = events.find((e) => e.type === 'STEP_UP_FOR_RETRY');
      expect(retry?.type === 'STEP_UP_FOR_RETRY' && retry.data.error.message).toBe('request to *** failed: 503');
      // The failure is still told, and the materialization still recorded, with the value masked.
      const mat = events.find((e) => e.type === 'MATERIALIZATION');
      expect(mat?.data).toMatchObject({ assetKey: 'api', metadata: { endpoint: REDACTED, rows: 3 } });
    } finally {
      await instance.close();
    }

    // Compute logs on disk: key-based and URL-password masking happen where the line is written.
    expectNoSecret(readTree(join(home, 'logs')), 'the compute logs');

    // What the CLI prints.
    const env = { ...process.env, STEPWISE_HOME: home, FORCE_COLOR: '0' };
    const show = await run(process.execPath, [BIN, 'runs', 'show', runId, '--json'], { env, timeout: 20_000 });
    expect(JSON.parse(show.stdout)).toMatchObject({ runId, status: 'SUCCESS' });
    expectNoSecret(show.stdout + show.stderr, '`runs show --json`');
    const list = await run(process.execPath, [BIN, 'runs', 'list', '--json'], { env, timeout: 20_000 });
    expect(list.stdout).toContain(runId);
    expectNoSecret(list.stdout + list.stderr, '`runs list --json`');
    const text = await run(process.execPath, [BIN, 'runs', 'show', runId], { env, timeout: 20_000 });
    expectNoSecret(text.stdout + text.stderr, '`runs show`');
    const logs = await run(process.execPath, [BIN, 'runs', 'logs', runId], { env, timeout: 20_000 });
    expect(logs.stdout).toContain('connecting to');
    expectNoSecret(logs.stdout + logs.stderr, '`runs logs`');
  }, 60_000);
});
