import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  DecodeError,
  decodeValue,
  encodeValue,
  LoadError,
  loadInstanceConfig,
  loadPlugins,
  loadYamlFiles,
  op,
  parseInstanceConfig,
  parseYaml,
  pipeline,
  type ResourceDefinition,
  resource,
  validateRunConfig,
} from '@stepwise/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { z } from 'zod';
import { anyValue, fuzzGuard, mutateAt, pathsOf } from '../../../test/support/fuzz.js';

// The configs below use the queue executor and Redis IO, whose options are that package's.
beforeAll(() => loadPlugins(['@stepwise/executor-queue']));

// Fuzzing of everything that reads untrusted input in core: the run config validator, the instance config
// loader, the YAML loader and the value decoder. Each target gets at least 10,000 generated inputs from a fixed
// seed; the only errors allowed are the documented ones, and valid inputs must still pass (so that a target that
// rejects everything would fail too). Every input is timed: one slow input is a hang in the making.

const NUM_RUNS = 10_000;

/** Fails on anything thrown that is not one of `allowed` with a clear message; counts accepted and rejected inputs. */
function guard(allowed: ReadonlyArray<new (...args: never[]) => Error>) {
  return fuzzGuard((error) => {
    if (!allowed.some((cls) => error instanceof cls)) return false;
    const { code, message } = error as Error & { code?: unknown };
    // A clear error: a code, and a message that is one readable sentence or a list of them.
    if (typeof code !== 'string' || typeof message !== 'string' || message.length === 0) return false;
    // A config issue built from a missing or unprintable value is a bug too ("fed by undefined", "[object Object]").
    const issues = (error as { issues?: Array<{ message: string }> }).issues ?? [];
    return !issues.some((i) => /\b(by|got) undefined\b|^undefined$|\[object \w+\]/.test(i.message));
  });
}

/** Keys that a user or an attacker might write: real config keys, near misses, prototype keys, junk. */
const keyArb = fc.oneof(
  fc.constantFrom(
    'ops',
    'resources',
    'execution',
    'tags',
    'config',
    'inputs',
    'extract',
    'load',
    'total',
    'orphan',
    'db',
    'cache',
    'limit',
    'table',
    'mode',
    'inProcess',
    'multiprocess',
    'queue',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    '',
  ),
  fc.string({ maxLength: 8 }),
);

/** Sets (or deletes) the value at a random path of a deep copy of `base`, creating objects on the way. */
describe('fuzz: run config validation', () => {
  const rows = z.array(z.object({ id: z.number() }));
  const extract = op({
    name: 'extract',
    config: z.object({
      limit: z.number().int().positive().default(10),
      mode: z.enum(['full', 'incremental']).default('full'),
      window: z.object({ from: z.string(), to: z.string().optional() }).optional(),
      ids: z.array(z.number()).default([]),
      extra: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    }),
    outs: { rows },
    compute: () => ({ rows: [] }),
  });
  const total = op({ name: 'total', ins: { rows }, out: z.number(), compute: (_c, { rows: r }) => r.length });
  const load = op({
    name: 'load',
    config: z.object({ table: z.string().min(1), batch: z.number().default(100) }),
    ins: { n: z.number(), note: z.string().optional(), meta: z.unknown().optional() },
    compute: () => undefined,
  });
  const db = resource({ config: z.object({ url: z.string() }), setup: () => 1 }) as ResourceDefinition;
  const cache = resource({
    config: z.object({ ttl: z.number().default(60) }).transform((c) => ({ ...c, ms: c.ttl * 1000 })),
    setup: () => 1,
  }) as ResourceDefinition;
  const etl = pipeline({
    name: 'etl',
    resources: { db, cache },
    build: () => {
      const { rows: r } = extract();
      const n = total({ rows: r });
      load({ n });
      total.as('orphan')();
    },
  });
  const valid = {
    ops: {
      extract: { config: { limit: 5, mode: 'incremental', window: { from: 'a' }, ids: [1, 2], extra: { k: 1 } } },
      load: { config: { table: 't' }, inputs: { note: 'n' } },
      orphan: { inputs: { rows: [{ id: 1 }] } },
    },
    resources: { db: { config: { url: 'postgres://x' } }, cache: { config: { ttl: 1 } } },
    execution: { queue: { redisUrl: 'redis://x', lockDurationMs: 1000 } },
    tags: { team: 'a' },
  };
  const validPaths = pathsOf(valid, false);

  it('accepts the valid config it mutates', () => {
    const rc = validateRunConfig(etl, valid);
    expect(rc.resources.cache?.config).toEqual({ ttl: 1, ms: 1000 });
    expect(rc.ops.extract?.config).toMatchObject({ limit: 5, mode: 'incremental' });
  });

  it('throws only ConfigError on 10,000 values set at random paths of a real config', () => {
    const { stats, run } = guard([ConfigError]);
    const mutation = fc.record({
      path: fc.oneof(
        fc.constantFrom(...validPaths),
        fc.array(keyArb, { maxLength: 6 }),
        fc.tuple(fc.constantFrom(...validPaths), fc.array(keyArb, { maxLength: 2 })).map(([a, b]) => [...a, ...b]),
      ),
      value: fc.oneof(anyValue, fc.jsonValue({ maxDepth: 3 })),
      remove: fc.boolean(),
      selection: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        let raw: unknown = valid;
        for (const m of mutations) raw = mutateAt(raw, m.path, m.value, m.remove);
        const selection = mutations[0]?.selection ? { steps: new Set(['total']) } : {};
        run(() => validateRunConfig(etl, raw, selection));
      }),
      { seed: 0xc0f1, numRuns: NUM_RUNS },
    );
    // Root values of any kind.
    fc.assert(
      fc.property(anyValue, (raw) => run(() => validateRunConfig(etl, raw))),
      { seed: 0xc0f2, numRuns: 2_000 },
    );
    expect(stats.rejected).toBeGreaterThan(1_000);
    expect(stats.accepted).toBeGreaterThan(100);
    expect(stats.slowestMs).toBeLessThan(1_500);
  }, 120_000);

  it('does not modify the input or pollute prototypes', () => {
    const raw = JSON.parse('{"ops":{"__proto__":{"polluted":1},"extract":{"config":{"__proto__":{"x":1}}}}}');
    expect(() => validateRunConfig(etl, raw)).toThrow(ConfigError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('reports keys named like Object.prototype members as unknown keys (found by this fuzzer)', () => {
    const messages = (raw: unknown) => {
      try {
        validateRunConfig(etl, raw);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      throw new Error('expected a ConfigError');
    };
    const base = structuredClone(valid);
    expect(messages(mutateAt(base, ['ops', 'extract', 'config', 'toString'], {}, false))).toEqual([
      'ops.extract.config.toString: unknown key',
    ]);
    expect(messages(mutateAt(base, ['ops', 'load', 'inputs', 'constructor'], 1, false))[0]).toMatch(
      /^ops\.load\.inputs\.constructor: unknown key: op 'load' has no input 'constructor'/,
    );
    expect(messages(mutateAt(base, ['resources', 'db', 'config', '__proto__'], { url: 1 }, false))).toEqual([
      'resources.db.config.__proto__: unknown key',
    ]);
  });
});

describe('fuzz: instance config and YAML', () => {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-fuzz-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  const validInstance = {
    storage: { postgres: { url: 'postgres://x', schema: 'public' } },
    io: { redis: { url: 'redis://x', prefix: 'p', maxValueBytes: 1024 } },
    computeLogs: { fs: { dir: 'logs' } },
    runCoordinator: { queued: { maxConcurrentRuns: 2, tagConcurrencyLimits: [{ key: 'team', limit: 1 }] } },
    execution: { queue: { redisUrl: 'redis://x', lockDurationMs: 10 } },
  };
  const instancePaths = pathsOf(validInstance, false);

  it('throws only ConfigError on 10,000 random instance config objects', () => {
    expect(parseInstanceConfig(validInstance, { home }).storage).toEqual({
      postgres: { url: 'postgres://x', schema: 'public' },
    });
    const { stats, run } = guard([ConfigError]);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            path: fc.oneof(fc.constantFrom(...instancePaths), fc.array(keyArb, { maxLength: 4 })),
            value: fc.oneof(anyValue, fc.constantFrom(null, {}, [], '', 0, -1, 'x')),
            remove: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        (mutations) => {
          let raw: unknown = validInstance;
          for (const m of mutations) raw = mutateAt(raw, m.path, m.value, m.remove);
          run(() => parseInstanceConfig(raw, { home, source: 'fuzz.yaml' }));
        },
      ),
      { seed: 0x1c01, numRuns: NUM_RUNS },
    );
    fc.assert(
      fc.property(anyValue, (raw) => run(() => parseInstanceConfig(raw, { home }))),
      {
        seed: 0x1c02,
        numRuns: 1_000,
      },
    );
    expect(stats.rejected).toBeGreaterThan(1_000);
    expect(stats.accepted).toBeGreaterThan(100);
    expect(stats.slowestMs).toBeLessThan(1_500);
  }, 120_000);

  /** YAML fragments that exercise the parser's corners: anchors, aliases, merges, tags, flow, documents. */
  const yamlPiece = fc.constantFrom(
    '&a ',
    '*a',
    '&b [1, 2]',
    '[*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    '<<: *a',
    '!!binary aGVsbG8=',
    '!!set {a, b}',
    '!!omap [{x: 1}]',
    '!!timestamp 2001-12-14',
    '!!str',
    '!!int',
    '!!float .nan',
    '!custom',
    '? [a, b]\n: 1',
    '---',
    '...',
    '%YAML 1.1\n---',
    '%TAG ! tag:x,2000:\n---',
    '{',
    '}',
    '[',
    ']',
    '"',
    "'",
    '|\n  text',
    '>-\n  folded',
    '\t',
    '\ufeff',
    '#',
    '\n  - ',
    ': ',
    '- ',
    '__proto__: ',
    'storage: ',
    'sqlite: ',
    'memory: ',
    'dir: ',
    '0x1F',
    '1e999',
    '123456789012345678901234567890',
    '~',
    'yes',
  );
  const yamlText = fc.oneof(
    // Valid documents, sometimes damaged.
    fc
      .tuple(
        fc.oneof(fc.constant(validInstance as unknown), fc.jsonValue({ maxDepth: 3 })),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 4 }), fc.oneof(yamlPiece, fc.string({ maxLength: 3 }))), {
          maxLength: 4,
        }),
      )
      .map(([doc, edits]) => {
        let text = stringify(doc);
        for (const [at, cut, piece] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + piece + text.slice(i + cut);
        }
        return text;
      }),
    // Fragments glued together.
    fc
      .array(fc.oneof(yamlPiece, keyArb, fc.constantFrom('\n', ' ', '  ', ': ', '- ')), { maxLength: 16 })
      .map((parts) => parts.join('')),
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
  );

  it('throws only ConfigError from the YAML loader on 10,000 random texts, and still reads valid ones', () => {
    expect(parseYaml(stringify(validInstance), 'ok.yaml')).toEqual(validInstance);
    expect(parseYaml('', 'empty.yaml')).toEqual({});
    const { stats, run } = guard([ConfigError]);
    fc.assert(
      fc.property(yamlText, (text) =>
        run(() => {
          const doc = parseYaml(text, 'fuzz.yaml');
          // What it returns is a plain, JSON-safe mapping (no cycles), fit to be stored with a run.
          JSON.stringify(doc);
          parseInstanceConfig(doc, { home, source: 'fuzz.yaml' });
        }),
      ),
      { seed: 0x7a01, numRuns: NUM_RUNS },
    );
    expect(stats.rejected).toBeGreaterThan(1_000);
    expect(stats.accepted).toBeGreaterThan(20);
    expect(stats.slowestMs).toBeLessThan(2_000);
  }, 120_000);

  it('rejects alias bombs and self-referencing aliases with a ConfigError', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
    ].join('\n');
    for (const text of [bomb, 'a: *nope', 'a: &a [*a]', 'a: &a {b: *a}']) {
      expect(() => parseYaml(text, 'bad.yaml')).toThrow(ConfigError);
    }
  });

  it('throws only ConfigError or LoadError from the file loaders (500 files)', async () => {
    const { stats, run } = guard([ConfigError, LoadError]);
    // loadInstanceConfig is async (it loads the plugins a file names): its rejection is classified like a throw.
    const settle = (pending: Promise<unknown>) =>
      pending.then(
        () => run(() => {}),
        (error: unknown) =>
          run(() => {
            throw error;
          }),
      );
    const dir = join(home, 'files');
    mkdirSync(dir, { recursive: true });
    await fc.assert(
      fc.asyncProperty(yamlText, fc.nat(), async (text, n) => {
        const file = join(dir, `c${n % 7}.yaml`);
        writeFileSync(file, text);
        run(() => loadYamlFiles([file, join(dir, 'missing.yaml')].slice(0, 1 + (n % 2))));
        const instanceHome = join(home, `home${n % 3}`);
        mkdirSync(instanceHome, { recursive: true });
        writeFileSync(join(instanceHome, 'stepwise.yaml'), text);
        await settle(loadInstanceConfig(instanceHome));
      }),
      { seed: 0x7a02, numRuns: 500 },
    );
    // A directory where a file is expected, and a file that is not UTF-8.
    expect(() => loadYamlFiles([dir])).toThrow(LoadError);
    writeFileSync(join(dir, 'bin.yaml'), Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x3a, 0x20]));
    run(() => loadYamlFiles([join(dir, 'bin.yaml')]));
    expect(stats.rejected).toBeGreaterThan(100);
  }, 120_000);
});

describe('fuzz: decodeValue', () => {
  const samples: unknown[] = [
    { a: 1, b: 'x', c: [1, 2, 3], d: null, e: true },
    [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ],
    new Map<unknown, unknown>([
      ['k', new Set([1, 2])],
      [1, new Date(0)],
    ]),
    Buffer.from('hello'),
    new Float64Array([1.5, 2.5]),
    2n ** 70n,
    'x'.repeat(300),
    { nested: { deep: { deeper: [undefined, -1, 1.5, 'é'] } } },
    new Error('boom'),
    /re+gex/gi,
  ];
  const encoded = samples.map((s) => encodeValue(s));

  it('round-trips the valid encodings it mutates', () => {
    samples.forEach((s, i) => {
      expect(decodeValue(encoded[i] as Buffer)).toEqual(s);
    });
  });

  const mutatedArb = fc
    .tuple(
      fc.nat({ max: encoded.length - 1 }),
      fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
          fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
          fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
          fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 9 }) }),
          // Length-like headers of msgpack (str32/bin32/array32/map32/ext32) followed by a huge length.
          fc.record({
            kind: fc.constant('header' as const),
            at: fc.nat(),
            byte: fc.constantFrom(0xc6, 0xc9, 0xdb, 0xdd, 0xdf, 0xd4, 0xd8, 0xc7),
          }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([which, edits]) => {
      let bytes = Buffer.from(encoded[which] as Buffer);
      for (const e of edits) {
        // Keep the 2-byte header intact most of the time, so the edits reach msgpackr itself.
        const at = 2 + (e.at % Math.max(1, bytes.length - 2));
        if (e.kind === 'flip' && at < bytes.length) bytes[at] = (bytes[at] as number) ^ (1 << e.bit);
        else if (e.kind === 'set' && at < bytes.length) bytes[at] = e.byte;
        else if (e.kind === 'cut') bytes = bytes.subarray(0, at);
        else if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
        else if (e.kind === 'header') {
          bytes = Buffer.concat([
            bytes.subarray(0, at),
            Buffer.from([e.byte, 0xff, 0xff, 0xff, 0xf0]),
            bytes.subarray(at),
          ]);
        }
      }
      return bytes;
    });

  it('throws only DecodeError on 10,000 random byte strings and never hangs', () => {
    const { stats, run } = guard([DecodeError]);
    const header = Buffer.from([0xc1, 0x01]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (body, withHeader) => {
        const bytes = withHeader ? Buffer.concat([header, body]) : Buffer.from(body);
        run(() => decodeValue(bytes, 'fuzz'));
      }),
      { seed: 0xdec1, numRuns: NUM_RUNS },
    );
    expect(stats.rejected).toBeGreaterThan(5_000);
    expect(stats.slowestMs).toBeLessThan(1_000);
  }, 120_000);

  it('throws only DecodeError on 10,000 mutations of valid encodings and never hangs', () => {
    const { stats, run } = guard([DecodeError]);
    fc.assert(
      fc.property(mutatedArb, (bytes) => run(() => decodeValue(bytes, 'fuzz'))),
      { seed: 0xdec2, numRuns: NUM_RUNS },
    );
    expect(stats.rejected).toBeGreaterThan(1_000);
    expect(stats.accepted).toBeGreaterThan(100);
    expect(stats.slowestMs).toBeLessThan(1_000);
  }, 120_000);
});
