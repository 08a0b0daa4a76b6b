import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEPWISE_BIN } from '@stepwise/core';
import { exitCode, freePort, killOnExit, runProcess, stopProcess, waitUntil } from '@stepwise/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIPELINES } from './support.js';

describe('stepwise ui (a real process)', () => {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-ui-cli-'));
  const env = { STEPWISE_HOME: home, STEPWISE_DEBUG: '', STEPWISE_UI_TOKEN: '' };
  let ui: ChildProcess | undefined;
  let port = 0;
  let output = '';
  beforeAll(async () => {
    port = await freePort();
    ui = spawn(
      process.execPath,
      [STEPWISE_BIN, 'ui', '-f', PIPELINES, '--host', '0.0.0.0', '--port', String(port), '--token', 'cli-token'],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    killOnExit(ui);
    ui.stdout?.on('data', (d) => {
      output += d;
    });
    ui.stderr?.on('data', (d) => {
      output += d;
    });
    await waitUntil(
      () => output.includes('stepwise ui: http://') || (ui?.exitCode !== null && Promise.reject(new Error(output))),
      45_000,
      'stepwise ui to listen',
    );
  });
  afterAll(async () => {
    if (ui && ui.exitCode === null) await stopProcess(ui, { graceMs: 10_000 });
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses a non-loopback address without a token (exit 2, naming --token)', async () => {
    const r = await runProcess(process.execPath, [STEPWISE_BIN, 'ui', '--host', '0.0.0.0', '--port', '0'], {
      env,
      timeoutMs: 45_000,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--token');
    expect(r.stderr).toContain('0.0.0.0');
  });

  it('serves the API and the page with a token, and closes cleanly on SIGTERM with a live stream open', async () => {
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/api/runs`)).status).toBe(401);
    const runs = await fetch(`${base}/api/runs`, { headers: { Authorization: 'Bearer cli-token' } });
    expect(runs.status).toBe(200);
    expect(await runs.json()).toEqual({ runs: [], nextBefore: null });
    const pipelines = await fetch(`${base}/api/pipelines`, { headers: { Authorization: 'Bearer cli-token' } });
    expect(((await pipelines.json()) as { pipelines: unknown[] }).pipelines).toHaveLength(4);
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const stream = await fetch(`${base}/api/stream?runs=1`, {
      headers: { Authorization: 'Bearer cli-token', Accept: 'text/event-stream' },
    });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('retry');
    (ui as ChildProcess).kill('SIGTERM');
    expect(await exitCode(ui as ChildProcess, 15_000, 'stepwise ui to exit on SIGTERM')).toBe(0);
    await reader.cancel().catch(() => {});
  });
});
