import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** Turn on the append-only file so data survives `restart()`. Default false (no persistence at all). */
  appendonly?: boolean;
  /** Working directory for AOF/RDB files. Default: a fresh temp dir, removed by `stop()`. */
  dir?: string;
  /** Port to listen on. Default: a free port picked by the OS. */
  port?: number;
  /** Binary to run. Default `$REDIS_SERVER_BIN` or `redis-server` from PATH. */
  binary?: string;
}

export interface RedisServer {
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM, then SIGKILL after 5 s); removes the temp dir if this helper made it. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. Data dir is kept. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port with the same dir (AOF data survives when `appendonly`). */
  restart(): Promise<void>;
}

const READY = 'Ready to accept connections';
const START_TIMEOUT_MS = 10_000;

/** A free TCP port on 127.0.0.1, as chosen by the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function launch(binary: string, port: number, dir: string, appendonly: boolean): Promise<ChildProcess> {
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--dir', dir];
  args.push('--appendonly', appendonly ? 'yes' : 'no', '--daemonize', 'no');
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not become ready within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(READY)) {
        // Detach: a listener left behind keeps firing and holds references (TOOLCHAIN.md pitfall).
        cleanup();
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
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
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(err);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Spawns a private redis-server for tests (fault tests kill and restart their own). Picks a free port
 * unless one is given, retrying up to 5 times when another process grabs the port first.
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = opts.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'stepwise-redis-'));
  const appendonly = opts.appendonly ?? false;
  let port = opts.port ?? 0;
  let child: ChildProcess | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    const tryPort = opts.port ?? (await freePort());
    try {
      child = await launch(binary, tryPort, dir, appendonly);
      port = tryPort;
    } catch (err) {
      lastError = err;
      // A missing binary will not appear on retry.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || opts.port !== undefined) break;
    }
  }
  if (!child) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child) {
        child.kill('SIGTERM');
        await waitExit(child, 5_000);
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!child) return;
      child.kill(signal);
      await waitExit(child, 5_000);
    },
    async restart() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await waitExit(child, 5_000);
      }
      let err: unknown;
      // The old socket may linger for a moment; retry briefly on the same port.
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          child = await launch(binary, port, dir, appendonly);
          return;
        } catch (e) {
          err = e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      throw err;
    },
  };
  return server;
}
