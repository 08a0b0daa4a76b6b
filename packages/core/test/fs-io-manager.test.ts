import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCode, stopProcess } from '@stepwise/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { DecodeError, decodeValue, encodeValue, FsIOManager, NotFoundError, type OutputRef } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'stepwise-fs-io-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('codec', () => {
  it('round-trips JSON-like values plus Date, Map, Set, Buffer, BigInt and undefined', () => {
    const value = {
      n: 1.5,
      s: 'text',
      nil: null,
      missing: undefined,
      list: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, 3],
      when: new Date('2024-01-02T03:04:05.678Z'),
      map: new Map<unknown, unknown>([
        ['k', { deep: [1, 2] }],
        [2, 'two'],
      ]),
      set: new Set(['x', 'y']),
      bytes: Buffer.from([0, 1, 2, 255]),
      big: 2n ** 70n,
      large: 2 ** 53 - 1,
    };
    const decoded = decodeValue(encodeValue(value)) as typeof value;
    expect(decoded).toEqual(value);
    expect(decoded.when).toBeInstanceOf(Date);
    expect(decoded.map).toBeInstanceOf(Map);
    expect(decoded.set).toBeInstanceOf(Set);
    expect(Buffer.isBuffer(decoded.bytes)).toBe(true);
    expect(decodeValue(encodeValue(undefined))).toBeUndefined();
    expect(decodeValue(encodeValue('plain'))).toBe('plain');
  });

  it('throws a DecodeError on foreign, truncated or trailing bytes', () => {
    const good = encodeValue({ a: [1, 2, 3], b: 'xyz' });
    const bad = [
      Buffer.from('hello world'),
      Buffer.alloc(0),
      good.subarray(0, good.length - 2),
      Buffer.concat([good, Buffer.from([1, 2, 3])]),
      Buffer.from([0xc1, 0x09, 0x01]),
      Buffer.from([0xc1, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff]),
    ];
    for (const bytes of bad) {
      expect(() => decodeValue(bytes, 'the value')).toThrow(DecodeError);
    }
    expect(() => decodeValue(Buffer.from('hello'), 'ref r/s/o')).toThrow(/cannot decode ref r\/s\/o/);
  });
});

describe('FsIOManager', () => {
  const io = new FsIOManager(join(root, 'io'));
  const ref: OutputRef = { runId: 'run-1', step: 'total', output: 'result' };

  it('stores and loads values at <dir>/<runId>/<step>/<output>.bin', async () => {
    await io.store(ref, { sum: 3, at: new Date(5) });
    expect(existsSync(join(root, 'io', 'run-1', 'total', 'result.bin'))).toBe(true);
    expect(await io.load(ref)).toEqual({ sum: 3, at: new Date(5) });
    expect(await io.has(ref)).toBe(true);
    await io.store(ref, 'replaced');
    expect(await io.load(ref)).toBe('replaced');
    // No temp files left behind.
    expect(readdirSync(join(root, 'io', 'run-1', 'total'))).toEqual(['result.bin']);
  });

  it('keeps mapped outputs apart and sanitizes path components', async () => {
    const a: OutputRef = { runId: 'run-1', step: 'square[a/b]', output: 'result', mappingKey: 'k1' };
    const b: OutputRef = { runId: 'run-1', step: 'square[a/b]', output: 'result', mappingKey: '../k2' };
    const evil: OutputRef = { runId: '..', step: '..', output: '../../escape' };
    await io.store(a, 1);
    await io.store(b, 2);
    await io.store(evil, 3);
    expect(await io.load(a)).toBe(1);
    expect(await io.load(b)).toBe(2);
    expect(await io.load(evil)).toBe(3);
    expect(io.pathFor(a)).toBe(join(root, 'io', 'run-1', 'square%5Ba%2Fb%5D', 'result.k1.bin'));
    for (const r of [a, b, evil]) expect(io.pathFor(r).startsWith(join(root, 'io'))).toBe(true);
    expect(existsSync(join(root, 'escape.bin'))).toBe(false);
    const long: OutputRef = { runId: 'run-1', step: 's', output: 'o', mappingKey: 'k'.repeat(1000) };
    await io.store(long, 'long');
    expect(await io.load(long)).toBe('long');
  });

  it('load rejects with a NotFoundError naming the ref', async () => {
    const missing: OutputRef = { runId: 'run-1', step: 'nope', output: 'result', mappingKey: '3' };
    await expect(io.load(missing)).rejects.toBeInstanceOf(NotFoundError);
    await expect(io.load(missing)).rejects.toThrow('run-1/nope/result[3]');
    expect(await io.has(missing)).toBe(false);
  });

  it('a corrupt file is a DecodeError naming the ref, not a hang', async () => {
    const corrupt: OutputRef = { runId: 'run-1', step: 'corrupt', output: 'result' };
    await io.store(corrupt, { ok: true });
    writeFileSync(io.pathFor(corrupt), 'garbage');
    await expect(io.load(corrupt)).rejects.toThrow(/cannot decode output run-1\/corrupt\/result/);
  });

  it('deleteRun drops every output of the run only', async () => {
    const other: OutputRef = { runId: 'run-2', step: 'total', output: 'result' };
    await io.store(other, 'keep');
    await io.deleteRun('run-1');
    expect(await io.has(ref)).toBe(false);
    expect(await io.load(other)).toBe('keep');
    await io.deleteRun('never-existed');
  });

  it('a value stored by another process loads here, and vice versa', async () => {
    const dir = join(root, 'shared');
    const src = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const script = join(root, 'child.mts');
    writeFileSync(
      script,
      `import { FsIOManager } from ${JSON.stringify(src)};
const io = new FsIOManager(${JSON.stringify(dir)});
const got = await io.load({ runId: 'r', step: 'parent', output: 'result' });
await io.store({ runId: 'r', step: 'child', output: 'result' }, { seen: got, from: process.pid });
`,
    );
    const shared = new FsIOManager(dir);
    await shared.store({ runId: 'r', step: 'parent', output: 'result' }, new Map([['a', 1]]));
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`child exited ${code}: ${stderr}`));
      });
    });
    const back = (await shared.load({ runId: 'r', step: 'child', output: 'result' })) as {
      seen: unknown;
      from: number;
    };
    expect(back.seen).toEqual(new Map([['a', 1]]));
    expect(back.from).not.toBe(process.pid);
    expect(readFileSync(shared.pathFor({ runId: 'r', step: 'child', output: 'result' }))[0]).toBe(0xc1);
  });
});

describe('bounded open files', () => {
  // A child process with at most 256 open files runs a 20,000-item dynamic fan-out in-process on the fs IO: every
  // item is stored by one step and loaded by a fan-in, so unbounded stores or loads fail with EMFILE.
  it('a 20,000-item dynamic fan-out on the fs IO under `ulimit -n 256` stores and loads every item', async () => {
    const core = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      import { executePipeline, FsIOManager, Instance, MemoryRunStorage, op, pipeline } from ${JSON.stringify(core)};
      import { z } from 'zod';
      const split = op({ name: 'split', out: { schema: z.number(), dynamic: true }, compute: () => Array.from({ length: 20000 }, (_, i) => i) });
      const sum = op({ name: 'sum', ins: { xs: z.array(z.number()) }, out: z.number(), compute: (_c, { xs }) => xs.reduce((a, b) => a + b, 0) });
      const fanOut = pipeline({ name: 'fan_out', build: () => void sum({ xs: split().collect() }) });
      const instance = new Instance({ storage: new MemoryRunStorage(), io: new FsIOManager(${JSON.stringify(join(root, 'fan-out'))}) });
      const result = await executePipeline(fanOut, { instance });
      process.stdout.write(JSON.stringify({ status: result.status, sum: result.status === 'SUCCESS' ? result.output('sum') : undefined, error: result.steps.split?.error?.message }));
    `;
    const child = spawn(
      'bash',
      ['-c', 'ulimit -n 256 && exec "$0" --input-type=module -e "$1"', process.execPath, script],
      {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const code = await exitCode(child, 120_000, 'the fan-out child to exit').finally(() =>
      stopProcess(child, { ask: 'SIGKILL' }),
    );
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ status: 'SUCCESS', sum: (19_999 * 20_000) / 2 });
  }, 150_000);
});
