import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../src/cli/errors.js';
import {
  ConfigError,
  DOCS_URL,
  LoadError,
  StepRefusedError,
  StepwiseError,
  TypeCheckError,
  troubleshootingUrl,
  UsageError,
} from '../src/index.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every error code the sources define: `super('CODE', ...)`, `code = 'CODE'`, `code: 'CODE'` and refusal codes. */
function definedCodes(): Map<string, string> {
  const codes = new Map<string, string>();
  const patterns = [
    /super\(\s*'([A-Z][A-Z0-9_]+)'/g,
    /\bcode\s*[=:]\s*'([A-Z][A-Z0-9_]+)'/g,
    /new StepRefusedError\(\s*'([A-Z][A-Z0-9_]+)'/g,
    /StepRefusalCode\s*=\s*([^;]+);/g,
  ];
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    const src = join(ROOT, 'packages', pkg, 'src');
    if (!statSync(src, { throwIfNoEntry: false })?.isDirectory()) continue;
    for (const file of sourceFiles(src)) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of patterns) {
        for (const match of text.matchAll(pattern)) {
          for (const code of (match[1] as string).match(/[A-Z][A-Z0-9_]+/g) ?? []) codes.set(code, file);
        }
      }
    }
  }
  return codes;
}

describe('StepwiseError.is', () => {
  it('accepts Stepwise errors, also of another copy of the package', () => {
    expect(StepwiseError.is(new UsageError('x'))).toBe(true);
    expect(StepwiseError.is(new StepRefusedError('VERSION_SKEW', 'x'))).toBe(true);
    // Another copy's class: its own prototype chain, the same global brand.
    class OtherCopyError extends Error {
      readonly code = 'USAGE';
      readonly misuse = true;
    }
    Object.defineProperty(OtherCopyError.prototype, Symbol.for('stepwise.error'), { value: true });
    const foreign = new OtherCopyError('from another copy');
    expect(foreign instanceof StepwiseError).toBe(false);
    expect(StepwiseError.is(foreign)).toBe(true);
  });

  it('refuses errors that merely have a string code: errno, SQLSTATE, a plain object', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: 'ENOENT',
      syscall: 'open',
    });
    const sqlstate = Object.assign(new Error('relation "runs" does not exist'), { code: '42P01' });
    expect(StepwiseError.is(enoent)).toBe(false);
    expect(StepwiseError.is(sqlstate)).toBe(false);
    expect(StepwiseError.is({ name: 'UsageError', code: 'USAGE', message: 'x' })).toBe(false);
    expect(StepwiseError.is(null)).toBe(false);
  });
});

describe('exit codes', () => {
  it('2 for misuse, 1 for failures and for bugs (an ENOENT or SQLSTATE nothing turned into a StepwiseError)', () => {
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(new ConfigError('run config', [{ path: 'a', message: 'b' }]))).toBe(2);
    expect(exitCodeOf(new LoadError('file missing'))).toBe(2);
    expect(exitCodeOf(new LoadError('bug in the file', { misuse: false }))).toBe(1);
    expect(exitCodeOf(new TypeCheckError('x'))).toBe(1);
    expect(exitCodeOf(Object.assign(new Error('ENOENT'), { code: 'ENOENT', syscall: 'open' }))).toBe(1);
    expect(exitCodeOf(Object.assign(new Error('no table'), { code: '42P01' }))).toBe(1);
    expect(exitCodeOf(new TypeError('x is undefined'))).toBe(1);
    expect(exitCodeOf(Object.assign(new Error('unknown option'), { code: 'commander.unknownOption' }))).toBe(2);
  });
});

describe('docs/errors.md', () => {
  it('lists every error code the sources define', () => {
    const docs = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    const codes = definedCodes();
    // The scan must find the codes it is there for, or it proves nothing.
    expect(codes.has('USAGE')).toBe(true);
    expect(codes.has('VERSION_SKEW')).toBe(true);
    expect(codes.has('STEP_PROCESS_EXITED')).toBe(true);
    const row = (code: string) => new RegExp(`^\\|\\s*(<a id="${code.toLowerCase()}"></a>)?\`${code}\`\\s*\\|`, 'm');
    const missing = [...codes].filter(([code]) => !row(code).test(docs));
    expect(missing.map(([code, file]) => `${code} (${file})`)).toEqual([]);
  });

  it('gives every code the anchor troubleshootingUrl links to (messages and help name that URL)', () => {
    const docs = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    const rows = [...docs.matchAll(/^\|\s*(<a id="([a-z0-9_]+)"><\/a>)?`([A-Z][A-Z0-9_]+)`\s*\|/gm)];
    expect(rows.length).toBeGreaterThan(20);
    const unanchored = rows.filter((m) => m[2] !== m[3]?.toLowerCase()).map((m) => m[3]);
    expect(unanchored).toEqual([]);
    expect(troubleshootingUrl('DEPENDENCY_MISSING')).toBe(`${DOCS_URL}/errors.md#dependency_missing`);
  });
});
