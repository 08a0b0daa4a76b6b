// The leak check of every test (test/setup/leak-check.ts): it fails the tests that leave something open.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { leaksSince, takeLeakSnapshot, waitUntil } from '@stepwise/testing';
import { describe, expect, it } from 'vitest';
import { ROOT } from './queue/harness.js';

const run = promisify(execFile);

interface JsonReport {
  numFailedTests: number;
  numPassedTests: number;
  testResults: {
    message: string;
    assertionResults: { title: string; status: string; failureMessages: string[] }[];
  }[];
}

describe('leak check', () => {
  it('counts what is opened and what is closed again', async () => {
    const before = takeLeakSnapshot();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const onSignal = () => {};
    process.on('SIGUSR2', onSignal);
    const timer = setInterval(() => {}, 1_000);
    try {
      expect(leaksSince(before).sort()).toEqual(['1 SIGUSR2 listeners', '1 TCP servers', '1 timers']);
    } finally {
      clearInterval(timer);
      process.off('SIGUSR2', onSignal);
      await new Promise((resolve) => server.close(resolve));
    }
    // A closed server's handle goes a moment after its close callback.
    await waitUntil(() => leaksSince(before).length === 0, 2_000, 'the handles to go');
  });

  it('fails each test that leaves a listener, a server or a child process, and the file for a timer', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-leaky-'));
    const out = join(dir, 'report.json');
    try {
      const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');
      const args = [vitest, 'run', '--config', 'test/fixtures/leaky/vitest.config.ts', '--reporter=json'];
      const ran = await run(process.execPath, [...args, `--outputFile.json=${out}`], {
        cwd: ROOT,
        // Failing, not reporting, whatever this run does.
        env: { ...process.env, STEPWISE_LEAK_CHECK: '' },
        timeout: 50_000,
      }).then(
        () => 0,
        (error: { code?: number }) => error.code,
      );
      expect(ran).toBe(1);
      const report = JSON.parse(readFileSync(out, 'utf8')) as JsonReport;
      const [file] = report.testResults;
      const outcome = Object.fromEntries(
        (file?.assertionResults ?? []).map((t) => [t.title, [t.status, t.failureMessages.join('\n')]]),
      );
      expect(outcome['leaves a signal listener']?.[0]).toBe('failed');
      expect(outcome['leaves a signal listener']?.[1]).toMatch(/left open: 1 SIGTERM listeners/);
      expect(outcome['leaves a server listening']?.[1]).toMatch(/left open: 1 TCP servers/);
      expect(outcome['leaves a child process running']?.[1]).toMatch(/left open: 1 child processes/);
      expect(outcome['closes what it opens']?.[0]).toBe('passed');
      // Timers are counted when the file ends (file-wide clients open theirs lazily), naming the test.
      expect(outcome['leaves an interval running']?.[0]).toBe('passed');
      expect(JSON.stringify(report)).toMatch(
        /the test file left open: 1 timers \(timers set in 'leaves an interval running'\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
