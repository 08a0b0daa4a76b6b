/**
 * A leak check after each test, as graphile-worker's suite has: what a test opened and left open (child processes,
 * servers, signal listeners, sockets, timers) fails that test or its file, not a later one or the run's exit.
 */
import { createHook } from 'node:async_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { liveChildren } from './child-process.js';
import { waitUntil } from './wait.js';

/** The handle kinds of process.getActiveResourcesInfo() a test must close, by what they are called here. */
const RESOURCE_KINDS: Record<string, string> = {
  TCPSocketWrap: 'TCP sockets',
  TCPServerWrap: 'TCP servers',
  PipeServerWrap: 'pipe servers',
  ProcessWrap: 'child processes',
};
/**
 * Checked when the test file ends rather than after each test: a file-wide client (a storage's connection pool,
 * a Redis connection) connects and grows its pool lazily, during whichever test first uses it.
 */
const FILE_WIDE = new Set(['TCP sockets', 'timers']);
// Signals only: 'exit' gets one listener per process from pino's on-exit-leak-free, installed once, on first use.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

export interface LeakSnapshot {
  counts: Map<string, number>;
}

/**
 * Timers created by test code (not by vitest) and not yet cleared: counts of 'Timeout' in
 * getActiveResourcesInfo() would include vitest's own, which come and go.
 */
interface TimerHandle {
  hasRef(): boolean;
  /** Node's own flag: set once the timer has fired (non-repeating) or was cleared; `destroy` comes later. */
  _destroyed?: boolean;
}
const liveTimers = new Map<number, { timer: TimerHandle; createdIn: string }>();
let currentTest = 'the file setup';
/** While the check itself waits, its own timers are not the test's. */
let checking = false;
const THIS_FILE = fileURLToPath(import.meta.url);
const VITEST_CODE = /[\\/]node_modules[\\/](vitest|@vitest)[\\/]|[\\/]vitest[\\/]dist[\\/]/;
const timerHook = createHook({
  init(asyncId, type, _trigger, resource) {
    if (type !== 'Timeout' || checking) return;
    // The first frame outside Node and this file is the code that set the timer.
    const caller = (new Error().stack ?? '')
      .split('\n')
      .slice(1)
      .find((line) => !line.includes('node:') && !line.includes(THIS_FILE));
    if (caller && VITEST_CODE.test(caller)) return;
    liveTimers.set(asyncId, { timer: resource as TimerHandle, createdIn: currentTest });
  },
  destroy(asyncId) {
    liveTimers.delete(asyncId);
  },
});

function refTimers(): { count: number; createdIn: Set<string> } {
  const createdIn = new Set<string>();
  let count = 0;
  for (const { timer, createdIn: where } of liveTimers.values()) {
    if (timer._destroyed || !timer.hasRef()) continue;
    count++;
    createdIn.add(where);
  }
  return { count, createdIn };
}

export function takeLeakSnapshot(): LeakSnapshot {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    const name = RESOURCE_KINDS[kind];
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const signal of SIGNALS) counts.set(`${signal} listeners`, process.listenerCount(signal));
  counts.set('child processes started by @stepwise/testing', liveChildren());
  counts.set('timers', refTimers().count);
  return { counts };
}

/** What there is more of now than in `before` ("2 TCP sockets"), among the kinds `only` accepts. */
export function leaksSince(
  before: LeakSnapshot,
  after = takeLeakSnapshot(),
  only: (kind: string) => boolean = () => true,
): string[] {
  const leaks: string[] = [];
  for (const [name, count] of after.counts) {
    const extra = count - (before.counts.get(name) ?? 0);
    if (extra > 0 && only(name)) leaks.push(`${extra} ${name}`);
  }
  return leaks;
}

export interface LeakCheckOptions {
  /** How long a closed handle gets to go away (sockets close a tick after `quit()`). Default 2 s. */
  graceMs?: number;
  /** Report leaks on stderr instead of failing. */
  reportOnly?: boolean;
}

/** Leaks that outlast the grace period (none: []). */
async function settledLeaks(before: LeakSnapshot, only: (kind: string) => boolean, graceMs: number) {
  let leaks: string[] = [];
  checking = true;
  await waitUntil(
    () => {
      leaks = leaksSince(before, takeLeakSnapshot(), only);
      return leaks.length === 0;
    },
    graceMs,
    'handles to close',
    25,
  )
    .catch(() => {})
    .finally(() => {
      checking = false;
    });
  return leaks;
}

/**
 * Registers the leak check's hooks (call it from a vitest setup file, whose hooks run around the test file's
 * own). A test that leaves a child process, a server or a signal listener behind fails with the list; sockets and
 * timers still open when the file ends fail the file, naming the tests that opened them.
 */
export function installLeakCheck(options: LeakCheckOptions = {}): void {
  const graceMs = options.graceMs ?? 2_000;
  const fail = (message: string) => {
    if (options.reportOnly) process.stderr.write(`leak check: ${message}\n`);
    else throw new Error(`leak check: ${message}`);
  };
  let atFileStart: LeakSnapshot | undefined;
  let before: LeakSnapshot | undefined;
  const socketsOpenedBy: string[] = [];

  beforeAll(() => {
    timerHook.enable();
    atFileStart = takeLeakSnapshot();
  });
  beforeEach((context) => {
    currentTest = `'${context.task.name}'`;
    before = takeLeakSnapshot();
  });
  afterEach(async (context) => {
    const start = before;
    if (!start) return;
    const sockets = leaksSince(start, takeLeakSnapshot(), (kind) => kind === 'TCP sockets');
    if (sockets.length > 0) socketsOpenedBy.push(`'${context.task.name}'`);
    const leaks = await settledLeaks(start, (kind) => !FILE_WIDE.has(kind), graceMs);
    currentTest = 'the file teardown';
    if (leaks.length > 0) {
      fail(`'${context.task.name}' left open: ${leaks.join(', ')}; close them in the test or its afterEach`);
    }
  });
  afterAll(async () => {
    const start = atFileStart;
    if (!start) return;
    const leaks = await settledLeaks(start, (kind) => FILE_WIDE.has(kind), graceMs);
    const timersFrom = [...refTimers().createdIn];
    timerHook.disable();
    liveTimers.clear();
    if (leaks.length === 0) return;
    const who = [
      ...(leaks.some((l) => l.endsWith('TCP sockets')) && socketsOpenedBy.length > 0
        ? [`sockets opened during ${socketsOpenedBy.join(', ')}`]
        : []),
      ...(leaks.some((l) => l.endsWith('timers')) ? [`timers set in ${timersFrom.join(', ')}`] : []),
    ];
    fail(`the test file left open: ${leaks.join(', ')} (${who.join('; ')}); close them by its afterAll`);
  });
}
