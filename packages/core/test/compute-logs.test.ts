import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ComputeLogManager,
  captureOutput,
  FsComputeLogManager,
  installOutputCapture,
  MemoryComputeLogManager,
  restoreOutputCapture,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'stepwise-compute-logs-'));
afterAll(() => {
  restoreOutputCapture();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('captureOutput', () => {
  it('patches stdout/stderr once, passes output through, and restores', async () => {
    const original = process.stdout.write;
    let passed = '';
    // A stand-in for the real stream below the capture layer, to see what passes through.
    const below = ((chunk: string | Uint8Array) => {
      passed += String(chunk);
      return true;
    }) as typeof process.stdout.write;
    restoreOutputCapture();
    process.stdout.write = below;
    try {
      installOutputCapture();
      const patched = process.stdout.write;
      expect(patched).not.toBe(below);
      installOutputCapture();
      expect(process.stdout.write).toBe(patched);
      const seen: string[] = [];
      await captureOutput(
        (stream, chunk) => seen.push(`${stream}:${chunk}`),
        async () => {
          process.stdout.write('hello\n');
          process.stdout.write(Buffer.from('bytes\n'));
        },
      );
      process.stdout.write('not captured\n');
      expect(seen).toEqual(['stdout:hello\n', 'stdout:bytes\n']);
      expect(passed).toBe('hello\nbytes\nnot captured\n');
      restoreOutputCapture();
      expect(process.stdout.write).toBe(below);
    } finally {
      restoreOutputCapture();
      process.stdout.write = original;
    }
  });
});

describe.each([
  ['memory', () => new MemoryComputeLogManager()],
  ['fs', () => new FsComputeLogManager(join(root, `fs-${Math.random().toString(36).slice(2)}`))],
] as const)('%s compute log manager', (_kind, make: () => ComputeLogManager) => {
  it('attributes output of concurrent async steps (awaits, timers) to the right step', async () => {
    const logs = make();
    const step = (key: string, delays: number[]) =>
      logs.capture('run-1', key, async () => {
        for (const [i, d] of delays.entries()) {
          await sleep(d);
          process.stdout.write(`${key} line ${i}\n`);
        }
        await new Promise<void>((resolve) =>
          setTimeout(() => {
            process.stderr.write(`${key} from timer\n`);
            resolve();
          }, 5),
        );
        return key;
      });
    const results = await Promise.all([step('a', [5, 1, 8]), step('b[0]', [1, 7, 2]), step('c', [3, 3, 3])]);
    expect(results).toEqual(['a', 'b[0]', 'c']);
    process.stdout.write('outside any step\n');
    await logs.flush();
    for (const key of ['a', 'b[0]', 'c']) {
      expect(await logs.read('run-1', key, 'stdout')).toBe(`${key} line 0\n${key} line 1\n${key} line 2\n`);
      expect(await logs.read('run-1', key, 'stderr')).toBe(`${key} from timer\n`);
    }
    expect(await logs.read('run-1', 'a')).toBe('a line 0\na line 1\na line 2\na from timer\n');
    expect(await logs.list('run-1')).toEqual(['a', 'b[0]', 'c']);
  });

  it('appends lines directly, reads undefined for silent steps and lists per run', async () => {
    const logs = make();
    logs.append('run-2', 'x', 'stdout', '{"msg":"one"}\n');
    logs.append('run-2', 'x', 'stdout', '{"msg":"two"}\n');
    logs.append('run-2', 'y', 'stderr', 'oops\n');
    expect(await logs.read('run-2', 'x')).toBe('{"msg":"one"}\n{"msg":"two"}\n');
    expect(await logs.read('run-2', 'x', 'stderr')).toBeUndefined();
    expect(await logs.read('run-2', 'silent')).toBeUndefined();
    expect(await logs.list('run-2')).toEqual(['x', 'y']);
    expect(await logs.list('no-such-run')).toEqual([]);
  });

  it('keeps the step result and error of the captured function', async () => {
    const logs = make();
    await expect(
      logs.capture('run-3', 's', async () => {
        process.stdout.write('before failing\n');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await logs.read('run-3', 's', 'stdout')).toBe('before failing\n');
  });
});

describe('FsComputeLogManager', () => {
  it('writes <dir>/<runId>/<stepKey>.out and .err, batching many appends', async () => {
    const dir = join(root, 'layout');
    const logs = new FsComputeLogManager(dir);
    for (let i = 0; i < 2000; i++) logs.append('run-9', 'step', 'stdout', `line ${i}\n`);
    logs.append('run-9', 'step', 'stderr', 'err\n');
    await logs.flush();
    const out = readFileSync(join(dir, 'run-9', 'step.out'), 'utf8').split('\n');
    expect(out).toHaveLength(2001);
    expect(out[1999]).toBe('line 1999');
    expect(readFileSync(join(dir, 'run-9', 'step.err'), 'utf8')).toBe('err\n');
    expect(logs.pathFor('run-9', 'map[k]', 'stdout')).toBe(join(dir, 'run-9', 'map%5Bk%5D.out'));
  });
});
