// A pipeline file whose top-level await never settles: `stepwise run` and `stepwise worker` end with a message
// naming the file and what it waits on, after STEPWISE_LOAD_TIMEOUT_MS, instead of hanging or exiting 13 silently.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCode, STEPWISE_CLI, stopProcess } from '@stepwise/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDefinitions, loadTimeoutMs } from '../src/index.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const FIXTURES = join(ROOT, 'packages/core/test/fixtures');
const home = mkdtempSync(join(tmpdir(), 'stepwise-load-timeout-'));

afterAll(() => rmSync(home, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number | string; stderr: string }> {
  const child = spawn(process.execPath, [STEPWISE_CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, STEPWISE_HOME: home, STEPWISE_DEBUG: '', STEPWISE_LOAD_TIMEOUT_MS: '1500' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  try {
    return { code: await exitCode(child, 30_000, `stepwise ${args.join(' ')} to exit`), stderr };
  } finally {
    await stopProcess(child, { ask: 'SIGKILL' });
  }
}

describe('pipeline file load timeout', () => {
  it('stepwise run: a top-level await nothing settles ends with exit 1 and a message, not a silent 13', async () => {
    const file = join(FIXTURES, 'never-settles.ts');
    const { code, stderr } = await cli(['run', '-f', file]);
    // Under load a file read of the loader may still be pending at the timeout: then it is named instead.
    expect(stderr).toContain(
      `stepwise: error: pipeline file '${file}' did not finish loading within 1500 ms: its top-level code`,
    );
    expect(stderr).toMatch(
      /awaits a promise that nothing settles \(no timer, socket or file is pending\)|is still waiting on/,
    );
    expect(stderr).toContain('fix its top-level await, or raise STEPWISE_LOAD_TIMEOUT_MS');
    expect(code).toBe(1);
  });

  it('stepwise worker: a top-level await on a timer names what it waits on and exits', async () => {
    const file = join(FIXTURES, 'waits-on-timer.ts');
    const { code, stderr } = await cli(['worker', '-f', file, '--redis', 'redis://127.0.0.1:6379']);
    expect(stderr).toContain(
      `pipeline file '${file}' did not finish loading within 1500 ms: its top-level code is still waiting on`,
    );
    expect(stderr).toMatch(/waiting on [^;]*\b1 Timeout\b[^;]* it opened/);
    expect(code).not.toBe(0);
  });

  it('loadDefinitions takes its timeout from the options or STEPWISE_LOAD_TIMEOUT_MS, and refuses a bad one', async () => {
    await expect(loadDefinitions(join(FIXTURES, 'never-settles.ts'), { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'LOAD_FAILED',
      misuse: false,
    });
    expect(loadTimeoutMs({})).toBe(60_000);
    expect(loadTimeoutMs({ STEPWISE_LOAD_TIMEOUT_MS: '2500' })).toBe(2500);
    expect(() => loadTimeoutMs({ STEPWISE_LOAD_TIMEOUT_MS: '5s' })).toThrow(
      "STEPWISE_LOAD_TIMEOUT_MS must be a whole number of milliseconds above 0, got '5s'",
    );
  });
});
