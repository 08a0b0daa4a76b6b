/**
 * A private redis-server for tests, the bench and the soak: loopback only, on a free port, optionally with the
 * append-only file (fsynced as asked), and with restart/kill for fault tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning, killOnExit, stopProcess } from './child-process.js';
import { freePort } from './free-port.js';
import { sleep } from './wait.js';

export interface RedisServerOptions {
  /** Turn on the append-only file so data survives `restart()`. Default false (no persistence at all). */
  appendonly?: boolean;
  /** With `appendonly`: Redis' `appendfsync` (`always` loses nothing a client was told was written). Default Redis'. */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** Working directory for AOF/RDB files. Default: a fresh temp dir, removed by `stop()`. */
  dir?: string;
  /** Port to listen on. Default: a free port picked by the OS (retried if taken meanwhile). */
  port?: number;
  /** Binary to run. Default `$REDIS_SERVER_BIN` or `redis-server` from PATH. */
  binary?: string;
  /** Listen with TLS on the port (the plain port is off); pass the certificate files in `args`. */
  tls?: boolean;
  /** More redis-server arguments (ACL users, TLS files). */
  args?: string[];
  /** Append the server's output to this file (else it is drained and dropped once ready). */
  logFile?: string;
  /** Bound on becoming ready. Default 10 s. */
  startTimeoutMs?: number;
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` (`rediss://` with `tls`). */
  readonly url: string;
  readonly port: number;
  /** The running server's process id (to read its CPU time); -1 while it is down. */
  readonly pid: number;
  /** How many times `restart()` brought it back. */
  readonly restarts: number;
  /** Graceful shutdown (SIGTERM, then SIGKILL after 10 s); removes the temp dir if this helper made it. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. The data dir is kept. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server (SIGTERM: Redis fsyncs the AOF), stays down `downMs`, starts it on the same port and dir. */
  restart(options?: { downMs?: number }): Promise<void>;
}

const READY = 'Ready to accept connections';

export class RedisStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(
      `${message}; install redis-server (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_SERVER_BIN`,
      options,
    );
    this.name = 'RedisStartError';
  }
}

interface Launch {
  binary: string;
  args: string[];
  timeoutMs: number;
  log: WriteStream | undefined;
}

function launch(l: Launch): Promise<ChildProcess> {
  const child = spawn(l.binary, l.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not become ready within ${l.timeoutMs} ms: ${output.slice(-500)}`)),
      l.timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      l.log?.write(chunk);
      output += chunk.toString();
      if (!output.includes(READY)) return;
      // Detach: a listener left behind keeps buffering output for the life of the server.
      cleanup();
      const drain = l.log ? (c: Buffer) => l.log?.write(c) : undefined;
      for (const stream of [child.stdout, child.stderr]) {
        if (drain) stream?.on('data', drain);
        else stream?.resume();
      }
      killOnExit(child);
      resolve(child);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(
        new Error(`redis-server exited before ready (code ${code}, signal ${signal}): ${output.trim().slice(-500)}`),
      );
    const onError = (err: Error) => fail(err);
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    function fail(err: Error) {
      cleanup();
      if (isRunning(child)) child.kill('SIGKILL');
      reject(err);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function serverArgs(opts: RedisServerOptions, port: number, dir: string): string[] {
  const ports = opts.tls ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)];
  const args = ['--bind', '127.0.0.1', ...ports, '--save', '', '--dir', dir, '--daemonize', 'no'];
  args.push('--appendonly', opts.appendonly ? 'yes' : 'no');
  if (opts.appendonly && opts.appendfsync) args.push('--appendfsync', opts.appendfsync);
  return [...args, ...(opts.args ?? [])];
}

/**
 * Spawns a private redis-server. Picks a free port unless one is given, retrying up to 5 times when another
 * process grabs the port first.
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = opts.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'stepwise-redis-'));
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  let port = 0;
  let child: ChildProcess | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    const tryPort = opts.port ?? (await freePort());
    try {
      child = await launch({ binary, args: serverArgs(opts, tryPort, dir), timeoutMs, log });
      port = tryPort;
    } catch (err) {
      lastError = err;
      // A missing binary will not appear on retry, nor a given port free up.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || opts.port !== undefined) break;
    }
  }
  if (!child) {
    log?.end();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw new RedisStartError(`could not start redis-server (${(lastError as Error).message})`, {
      cause: lastError,
    });
  }
  let current: ChildProcess = child;
  let restarts = 0;
  const stopCurrent = () => stopProcess(current, { graceMs: 10_000 });
  return {
    url: `${opts.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    get pid() {
      return isRunning(current) ? (current.pid ?? -1) : -1;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      await stopCurrent();
      await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    kill: (signal: NodeJS.Signals = 'SIGKILL') => stopProcess(current, { ask: signal }),
    async restart(options: { downMs?: number } = {}) {
      await stopCurrent();
      await sleep(options.downMs ?? 0);
      let err: unknown;
      // The old socket may linger for a moment: retry on the same port for about 5 s.
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          current = await launch({ binary, args: serverArgs(opts, port, dir), timeoutMs, log });
          restarts++;
          return;
        } catch (e) {
          err = e;
          await sleep(250);
        }
      }
      throw err;
    },
  };
}
