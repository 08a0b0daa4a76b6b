/**
 * The soak's own redis-server: loopback only, on a free port, with the append-only file fsynced on every write
 * (`appendfsync always`), so a graceful restart loses nothing the soak's processes were told was written.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const READY = 'Ready to accept connections';

function freePort(): Promise<number> {
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

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class SoakRedis {
  private child?: ChildProcess;
  private readonly log: WriteStream;
  restarts = 0;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly binary: string,
  ) {
    this.log = createWriteStream(join(dir, 'redis.log'), { flags: 'a' });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server whose AOF lives in `dir`; retries on another port if one is taken under it. */
  static async start(dir: string, binary = process.env.REDIS_SERVER_BIN ?? 'redis-server'): Promise<SoakRedis> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new SoakRedis(await freePort(), dir, binary);
      try {
        await server.launch();
        return server;
      } catch (error) {
        lastError = error;
        server.log.end();
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
      }
    }
    throw new Error(
      `soak: could not start redis-server (${(lastError as Error).message}); install it (apt-get install -y redis-server) or set REDIS_SERVER_BIN`,
    );
  }

  private launch(): Promise<void> {
    const args = ['--bind', '127.0.0.1', '--port', String(this.port), '--dir', this.dir, '--save', ''];
    args.push('--appendonly', 'yes', '--appendfsync', 'always', '--daemonize', 'no', '--protected-mode', 'yes');
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => fail(new Error('redis-server was not ready within 15 s')), 15_000);
      const onData = (chunk: Buffer) => {
        this.log.write(chunk);
        output += chunk.toString();
        if (output.includes(READY)) {
          cleanup();
          this.child = child;
          // Keep draining its output into the log file.
          child.stdout?.on('data', (c: Buffer) => this.log.write(c));
          child.stderr?.on('data', (c: Buffer) => this.log.write(c));
          resolve();
        }
      };
      const onExit = (code: number | null) =>
        fail(new Error(`redis-server exited (code ${code}) before ready: ${output.trim().slice(-300)}`));
      const onError = (error: Error) => fail(error);
      function cleanup() {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
      }
      function fail(error: Error) {
        cleanup();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(error);
      }
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
  }

  /** Graceful restart: SIGTERM (Redis fsyncs the AOF and exits), stay down `downMs`, start on the same port. */
  async restart(downMs: number): Promise<void> {
    if (this.child) {
      this.child.kill('SIGTERM');
      await exited(this.child, 10_000);
    }
    await new Promise((r) => setTimeout(r, downMs));
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await this.launch();
        this.restarts++;
        return;
      } catch (error) {
        lastError = error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw lastError;
  }

  async stop(): Promise<void> {
    if (this.child) {
      this.child.kill('SIGTERM');
      await exited(this.child, 10_000);
    }
    this.log.end();
  }
}
