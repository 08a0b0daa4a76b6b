/**
 * What the browser tests share: a real instance (SQLite or PostgreSQL), a daemon, `stepwise worker` processes on a
 * real Redis, a real `stepwise ui` process, and one Chromium per test file (playwright-core driving Debian's
 * /usr/bin/chromium). Every request the page makes is recorded: none may leave the UI's origin.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Instance, STEPWISE_BIN } from '@stepwise/core';
import {
  deletePrefix,
  freePort,
  killOnExit,
  spawnWorker,
  stopProcess,
  uniquePrefix,
  type WorkerProcess,
  waitForWorkers,
  waitUntil,
} from '@stepwise/testing';
import pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';

export const PIPELINES = fileURLToPath(new URL('./fixtures/pipelines.ts', import.meta.url));
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const SCREENSHOTS = fileURLToPath(new URL('../../../../.test-tmp/ui-screenshots/', import.meta.url));

export interface StackOptions {
  readonly storage?: 'sqlite' | 'postgres';
  /** Workers to start: name and queues. Default one worker on `default` and `heavy`. */
  readonly workers?: ReadonlyArray<{ name: string; queues: string[] }>;
  /** Start a daemon (runs launched from the UI need one). Default true. */
  readonly daemon?: boolean;
  /** Extra `stepwise ui` arguments (`--token`, `--read-only`). */
  readonly uiArgs?: readonly string[];
}

export interface Stack {
  readonly home: string;
  readonly instance: Instance;
  readonly prefix: string;
  readonly baseUrl: string;
  readonly workers: WorkerProcess[];
  readonly ui: ChildProcess & { output(): string };
  /** Starts another `stepwise ui` on the same instance (e.g. read-only); stopped with the stack. */
  startUi(args: readonly string[]): Promise<{ baseUrl: string; proc: ChildProcess }>;
  stop(): Promise<void>;
}

function startCli(home: string, args: readonly string[]): ChildProcess & { output(): string } {
  const child = spawn(process.execPath, [STEPWISE_BIN, ...args], {
    env: { ...process.env, STEPWISE_HOME: home, STEPWISE_DEBUG: '', STEPWISE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return Object.assign(child, { output: () => output });
}

async function startUiProcess(home: string, prefix: string, args: readonly string[]) {
  const port = await freePort();
  const proc = startCli(home, [
    'ui',
    '-f',
    PIPELINES,
    '--port',
    String(port),
    '--redis',
    REDIS_URL,
    '--prefix',
    prefix,
    ...args,
  ]);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitUntil(
    async () => {
      if (proc.exitCode !== null) throw new Error(`stepwise ui exited: ${proc.output()}`);
      return fetch(`${baseUrl}/healthz`).then(
        (r) => r.status === 200 || r.status === 401,
        () => false,
      );
    },
    30_000,
    'stepwise ui to answer /healthz',
    100,
  );
  return { baseUrl, proc };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const home = mkdtempSync(join(tmpdir(), 'stepwise-ui-browser-'));
  const prefix = uniquePrefix('ui');
  const schema = `ui_${prefix.replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
  const storage =
    options.storage === 'postgres' ? `storage: { postgres: { url: '${PG_URL}', schema: ${schema} } }\n` : '';
  writeFileSync(
    join(home, 'stepwise.yaml'),
    `${storage}execution: { queue: { redisUrl: '${REDIS_URL}', prefix: '${prefix}', lockDurationMs: 1000 } }\n` +
      'runLauncher: { inProcess: {} }\n' +
      'runCoordinator: { queued: { dequeueIntervalMs: 200 } }\n',
  );
  const instance = await Instance.local(home);
  const children: ChildProcess[] = [];
  const workers: WorkerProcess[] = [];
  const stop = async () => {
    await Promise.all(workers.map((w) => w.stop(5_000)));
    await Promise.all(children.map((c) => stopProcess(c, { graceMs: 5_000 })));
    await instance.close();
    await deletePrefix(REDIS_URL, prefix);
    if (options.storage === 'postgres') {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
    rmSync(home, { recursive: true, force: true });
  };
  try {
    for (const w of options.workers ?? [{ name: `${prefix}-w1`, queues: ['default', 'heavy'] }]) {
      // The workers share the instance home: their compute logs land where the UI reads them.
      workers.push(
        spawnWorker({
          file: PIPELINES,
          redisUrl: REDIS_URL,
          prefix,
          name: w.name,
          queues: w.queues,
          env: { STEPWISE_HOME: home },
        }),
      );
    }
    await waitForWorkers(
      REDIS_URL,
      prefix,
      workers.map((w) => w.name),
      30_000,
      workers,
    );
    if (options.daemon !== false) {
      const daemon = startCli(home, ['daemon']);
      children.push(daemon);
      await waitUntil(
        async () =>
          (await instance.storage.listDaemonHeartbeats()).some((d) => d.pid === daemon.pid) ||
          (daemon.exitCode !== null && Promise.reject(new Error(`daemon exited: ${daemon.output()}`))),
        30_000,
        'the daemon to record its heartbeat',
      );
    }
    const first = await startUiProcess(home, prefix, options.uiArgs ?? []);
    children.push(first.proc);
    return {
      home,
      instance,
      prefix,
      baseUrl: first.baseUrl,
      workers,
      ui: first.proc as ChildProcess & { output(): string },
      startUi: async (args) => {
        const more = await startUiProcess(home, prefix, args);
        children.push(more.proc);
        return more;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: BROWSER_ARGS, headless: true });
}

/** What a page did that a test checks at the end: requests off the origin, page errors, dialogs. */
export interface PageWatch {
  readonly foreign: string[];
  readonly errors: string[];
  readonly dialogs: string[];
  /** Every EventSource request (the tab's streams). */
  readonly streams: string[];
}

/** A new page that records every request: any to another origin is a failure of the suite. */
export async function watchedPage(browser: Browser, baseUrl: string): Promise<{ page: Page; watch: PageWatch }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const origin = new URL(baseUrl).origin;
  const watch: PageWatch = { foreign: [], errors: [], dialogs: [], streams: [] };
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) watch.foreign.push(url);
    if (url.includes('/api/stream')) watch.streams.push(url);
  });
  page.on('pageerror', (e) => watch.errors.push(e.message));
  page.on('dialog', (d) => {
    watch.dialogs.push(d.message());
    void d.dismiss();
  });
  return { page, watch };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** The run config part that sends a run's steps to the workers (stepwise.yaml gives the queue's Redis). */
export const ON_WORKERS = { execution: { queue: {} } } as const;

/** Submits a run through the API (as the launchpad does), its steps on the workers; returns its id. */
export async function submitViaApi(
  baseUrl: string,
  pipeline: string,
  runConfig: Record<string, unknown> = {},
  tags: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await fetch(`${baseUrl}/api/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl, ...headers },
    body: JSON.stringify({ pipeline, runConfig: { ...ON_WORKERS, ...runConfig }, tags }),
  });
  if (res.status !== 201) throw new Error(`submit ${pipeline}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { runId: string }).runId;
}

export async function waitRunEnded(instance: Instance, runId: string, timeoutMs = 60_000): Promise<string> {
  return waitUntil(
    async () => {
      const run = await instance.storage.getRun(runId);
      return run?.endedAt !== undefined && run.status;
    },
    timeoutMs,
    `run ${runId} to end`,
    100,
  );
}
