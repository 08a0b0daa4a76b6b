import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  type ConfigIssue,
  deepMerge,
  LoadError,
  loadYamlFiles,
  op,
  parseYaml,
  pipeline,
  type ResourceDefinition,
  registerPlugin,
  resource,
  runConfigSchema,
  validateRunConfig,
} from '@stepwise/core';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { plugin as testPlugin } from './fixtures/test-plugin.js';

const rowsSchema = z.array(z.object({ id: z.number() }));
const extract = op({
  name: 'extract',
  config: z.object({ limit: z.number().int().positive().default(10), source: z.string().default('db') }),
  outs: { rows: rowsSchema },
  compute: (ctx) => ({ rows: Array.from({ length: ctx.config.limit }, (_, id) => ({ id })) }),
});
const total = op({
  name: 'total',
  ins: { rows: rowsSchema },
  out: z.number(),
  compute: (_ctx, { rows }) => rows.length,
});
const load = op({
  name: 'load',
  config: z.object({ table: z.string(), batch: z.number().default(100) }),
  ins: { n: z.number(), note: z.string().optional() },
  compute: () => undefined,
});
// The casts work around ResourceDefinition<T> not being assignable to ResourceDefinition<unknown> (teardown's parameter).
const db = resource({ config: z.object({ url: z.string() }), setup: ({ config }) => config.url }) as ResourceDefinition;
const cache = resource({ config: z.object({ ttl: z.number().default(60) }), setup: () => 1 }) as ResourceDefinition;

const etl = pipeline({
  name: 'etl',
  resources: { db, cache },
  build: () => {
    const { rows } = extract();
    const n = total({ rows });
    load({ n });
    total.as('orphan')();
  },
});

const good = {
  ops: { load: { config: { table: 't' } }, orphan: { inputs: { rows: [{ id: 1 }] } } },
  resources: { db: { config: { url: 'postgres://x' } } },
};

/** Runs validation, expecting a ConfigError, and returns its issues. */
function issuesOf(raw: unknown): ConfigIssue[] {
  try {
    validateRunConfig(etl, raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('validateRunConfig', () => {
  it('accepts a good config and applies defaults', () => {
    const rc = validateRunConfig(etl, { ...good, execution: { inProcess: { maxConcurrent: 2 } }, tags: { team: 'x' } });
    expect(rc.ops.extract?.config).toEqual({ limit: 10, source: 'db' });
    expect(rc.ops.load?.config).toEqual({ table: 't', batch: 100 });
    expect(rc.ops.orphan?.inputs).toEqual({ rows: [{ id: 1 }] });
    expect(rc.resources.db?.config).toEqual({ url: 'postgres://x' });
    expect(rc.resources.cache?.config).toEqual({ ttl: 60 });
    expect(rc.execution).toEqual({ inProcess: { maxConcurrent: 2 } });
    expect(rc.tags).toEqual({ team: 'x' });
  });

  it('reads YAML-style nulls as empty', () => {
    const rc = validateRunConfig(etl, {
      ...good,
      ops: { ...good.ops, extract: null },
      execution: { multiprocess: null },
    });
    expect(rc.execution).toEqual({ multiprocess: {} });
  });

  it('reports a wrong type as expected X, got Y', () => {
    const issues = issuesOf({ ...good, ops: { ...good.ops, extract: { config: { limit: 'five' } } } });
    expect(issues).toEqual([{ path: 'ops.extract.config.limit', message: 'expected number, got string' }]);
  });

  it('reports a non-integer where an integer is expected', () => {
    const issues = issuesOf({ ...good, ops: { ...good.ops, extract: { config: { limit: 1.5 } } } });
    expect(issues).toEqual([{ path: 'ops.extract.config.limit', message: 'expected integer, got 1.5' }]);
  });

  it('reports an unknown op with close matches', () => {
    const issues = issuesOf({ ...good, ops: { ...good.ops, extrct: {} } });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('ops.extrct');
    expect(issues[0]?.message).toMatch(/unknown key: pipeline 'etl' has no step 'extrct'; did you mean 'extract'\?/);
  });

  it('reports each unknown key at its own path', () => {
    const issues = issuesOf({
      ...good,
      ops: { ...good.ops, extract: { config: { foo: 1, bar: 2 }, confg: {} } },
      loggers: {},
    });
    expect(issues.map((i) => i.path).sort()).toEqual(
      ['loggers', 'ops.extract.confg', 'ops.extract.config.bar', 'ops.extract.config.foo'].sort(),
    );
    expect(issues.find((i) => i.path === 'ops.extract.config.foo')?.message).toBe('unknown key');
  });

  it('reports missing required op config', () => {
    const issues = issuesOf({ ...good, ops: { orphan: good.ops.orphan } });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('ops.load.config');
    expect(issues[0]?.message).toMatch(/^required/);
    expect(issues[0]?.message).toContain('table');
  });

  it('reports an input fed by neither an upstream output nor config', () => {
    const issues = issuesOf({ ...good, ops: { load: good.ops.load } });
    expect(issues).toEqual([
      {
        path: 'ops.orphan.inputs.rows',
        message: "required: input 'rows' of step 'orphan' is not fed by any upstream output; give it a value here",
      },
    ]);
  });

  it('does not require an optional unfed input', () => {
    expect(() => validateRunConfig(etl, good)).not.toThrow();
  });

  it('reports an input fed twice', () => {
    const issues = issuesOf({ ...good, ops: { ...good.ops, total: { inputs: { rows: [] } } } });
    expect(issues).toEqual([
      {
        path: 'ops.total.inputs.rows',
        message: "input fed twice: ops.total.inputs.rows is also fed by step 'extract' output 'rows'",
      },
    ]);
  });

  it('type-checks config-fed inputs', () => {
    const issues = issuesOf({ ...good, ops: { ...good.ops, orphan: { inputs: { rows: [{ id: 'a' }] } } } });
    expect(issues).toEqual([{ path: 'ops.orphan.inputs.rows[0].id', message: 'expected number, got string' }]);
  });

  it('reports bad execution blocks', () => {
    expect(issuesOf({ ...good, execution: {} })).toEqual([
      { path: 'execution', message: 'choose one of: inProcess, multiprocess, queue' },
    ]);
    expect(issuesOf({ ...good, execution: { inProcess: {}, multiprocess: {} } })[0]?.message).toContain(
      'got inProcess, multiprocess',
    );
    const bad = issuesOf({ ...good, execution: { multiprocess: { maxConcurrent: 0 }, kubernetes: {} } });
    expect(bad.map((i) => i.path)).toEqual(
      expect.arrayContaining(['execution.multiprocess.maxConcurrent', 'execution.kubernetes']),
    );
    expect(bad.find((i) => i.path === 'execution.kubernetes')?.message).toMatch(
      /^unknown key: no executor of that name is registered \(known: inProcess, multiprocess, queue\)/,
    );
    // The queue executor's options are its package's: before it is loaded, the block says where it comes from.
    expect(issuesOf({ ...good, execution: { queue: { lockDurationMs: '1s' } } })).toEqual([
      { path: 'execution.queue', message: expect.stringContaining('comes from @stepwise/executor-queue') },
    ]);
  });

  it("validates a registered plugin's executor kind by its own schema", () => {
    expect(issuesOf({ ...good, execution: { testRecorder: {} } })[0]?.path).toBe('execution.testRecorder');
    registerPlugin(testPlugin);
    expect(validateRunConfig(etl, { ...good, execution: { testRecorder: { label: 'x' } } }).execution).toEqual({
      testRecorder: { label: 'x' },
    });
    expect(issuesOf({ ...good, execution: { testRecorder: { delayMs: '1s', labl: 'x' } } })).toEqual([
      { path: 'execution.testRecorder.delayMs', message: 'expected number, got string' },
      { path: 'execution.testRecorder.labl', message: 'unknown key' },
    ]);
    expect(issuesOf({ ...good, execution: {} })[0]?.message).toBe(
      'choose one of: inProcess, multiprocess, testRecorder, queue',
    );
  });

  it('reports resources by path', () => {
    const issues = issuesOf({ ops: good.ops, resources: { db: { config: { url: 5 } }, redis: {} } });
    expect(issues).toEqual([
      { path: 'resources.redis', message: "unknown key: pipeline 'etl' has no resource 'redis'" },
      { path: 'resources.db.config.url', message: 'expected string, got number' },
    ]);
    expect(issuesOf({ ops: good.ops })).toEqual([
      { path: 'resources.db.config', message: "required (resource 'db' needs url)" },
    ]);
  });

  it('lists several problems at once', () => {
    const issues = issuesOf({
      ops: { extract: { config: { limit: 'x' } }, nope: {}, total: { inputs: { rows: [] } } },
      resources: {},
      execution: { inProcess: { maxConcurrent: 'a' } },
      tags: { team: 1 },
    });
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'ops.extract.config.limit',
        'ops.nope',
        'ops.total.inputs.rows',
        'ops.load.config',
        'ops.orphan.inputs.rows',
        'resources.db.config',
        'execution.inProcess.maxConcurrent',
        'tags.team',
      ]),
    );
    expect(issues.find((i) => i.path === 'tags.team')?.message).toBe('expected string, got number');
  });

  it('rejects a config that is not a mapping, and names the pipeline in the error', () => {
    try {
      validateRunConfig(etl, 'ops: {}');
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).message).toMatch(
        /^run config for pipeline 'etl' is invalid:\n {2}expected object, got string/,
      );
    }
  });

  it('derives a zod schema that agrees with validateRunConfig on good and bad configs', () => {
    const schema = runConfigSchema(etl);
    expect(schema.safeParse(good).success).toBe(true);
    expect(schema.safeParse({ ...good, ops: { ...good.ops, extract: { config: { limit: 'x' } } } }).success).toBe(
      false,
    );
    expect(schema.safeParse({ ...good, ops: { ...good.ops, total: { inputs: { rows: [] } } } }).success).toBe(false);
    expect(schema.safeParse({ ...good, ops: { load: good.ops.load } }).success).toBe(false);
    expect(schema.safeParse({ ...good, execution: {} }).success).toBe(false);
  });
});

describe('YAML loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-yaml-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('deep-merges files, later wins; arrays replace', () => {
    const a = file(
      'a.yaml',
      'ops:\n  extract:\n    config: { limit: 5, source: db }\n  orphan:\n    inputs: { rows: [ { id: 1 }, { id: 2 } ] }\ntags: { a: "1" }\n',
    );
    const b = file(
      'b.yaml',
      'ops:\n  extract:\n    config: { limit: 7 }\n  orphan:\n    inputs: { rows: [ { id: 3 } ] }\ntags: { b: "2" }\n',
    );
    expect(loadYamlFiles([a, b])).toEqual({
      ops: { extract: { config: { limit: 7, source: 'db' } }, orphan: { inputs: { rows: [{ id: 3 }] } } },
      tags: { a: '1', b: '2' },
    });
  });

  it('treats an empty file as an empty mapping', () => {
    expect(loadYamlFiles([file('empty.yaml', '# nothing\n')])).toEqual({});
  });

  it('names the file, line and column of malformed YAML', () => {
    const bad = file('bad.yaml', 'ops:\n  extract:\n    config: { limit: 5\n  total: {}\n');
    try {
      loadYamlFiles([bad]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toContain(bad);
      expect(message).toMatch(/line \d+, column \d+/);
      expect((err as ConfigError).issues[0]?.path).toMatch(
        new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+$`),
      );
    }
  });

  it('reports the line of a duplicate key', () => {
    expect(() => parseYaml('a: 1\nb: 2\na: 3\n', 'dup.yaml')).toThrow(
      /dup\.yaml[\s\S]*line 3, column 1: Map keys must be unique/,
    );
  });

  it('rejects a document that is not a mapping', () => {
    expect(() => parseYaml('- 1\n- 2\n', 'list.yaml')).toThrow(/list\.yaml: the document must be a mapping.*got array/);
  });

  it('names a missing file', () => {
    const missing = join(dir, 'missing.yaml');
    expect(() => loadYamlFiles([missing])).toThrow(LoadError);
    expect(() => loadYamlFiles([missing])).toThrow(`config file '${missing}' not found`);
  });

  it('feeds validateRunConfig end to end', () => {
    const path = file('run.yaml', "ops:\n  extract: { config: { limit: '3' } }\n");
    expect(() => validateRunConfig(etl, deepMerge(good, loadYamlFiles([path])))).toThrow(
      /ops\.extract\.config\.limit: expected number, got string/,
    );
  });
});

describe('deepMerge', () => {
  it('merges objects recursively and replaces the rest', () => {
    const base = { a: { b: 1, c: [1, 2] }, d: 'x' };
    expect(deepMerge(base, { a: { c: [3] }, d: null })).toEqual({ a: { b: 1, c: [3] }, d: null });
    expect(base).toEqual({ a: { b: 1, c: [1, 2] }, d: 'x' });
    expect(deepMerge({ a: 1 }, undefined)).toEqual({ a: 1 });
  });

  it('ignores prototype-polluting keys', () => {
    const merged = deepMerge({}, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(merged)).toEqual([]);
  });
});
