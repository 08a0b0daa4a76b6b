import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A redis-server owned by the benchmark. */
export interface BenchRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** The server's process id (to read its CPU time). */
  pid: number;
  /** Stops the server; resolves once it has exited (or was killed after a grace period). */
  stop(): Promise<void>;
}

/** Asks the OS for a free loopback port (redis-server `--port 0` does not pick one, it refuses to listen). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port was assigned'))));
    });
  });
}

function startOnce(port: number, timeoutMs: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const cleanup = () => {
      clearTimeout(timer);
      // Detach once ready: a lingering data listener keeps buffering output for the life of the server.
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('error', onError);
      child.off('exit', onExit);
      child.stdout?.resume();
      child.stderr?.resume();
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        cleanup();
        resolve(child);
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`redis-server exited with code ${code} before it was ready:\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`redis-server was not ready within ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', onError);
    child.once('exit', onExit);
  });
}

/**
 * Starts a private redis-server on a free loopback port with persistence off.
 * Retries a few times because the port found free may be taken before redis binds it.
 */
export async function startRedis(options: { attempts?: number; timeoutMs?: number } = {}): Promise<BenchRedis> {
  const attempts = options.attempts ?? 5;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await startOnce(port, options.timeoutMs ?? 10_000);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('redis-server is not installed (apt-get install -y redis-server)', { cause: err });
      }
      lastError = err;
      continue;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // If the benchmark exits without stop() (a crash, process.exit), do not leave the server behind.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    void exited.then(() => process.off('exit', killOnExit));
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 5_000);
      });
      const outcome = await Promise.race([exited, grace]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    };
    return { url: `redis://127.0.0.1:${port}`, pid: child.pid ?? -1, stop };
  }
  throw new Error(`could not start redis-server after ${attempts} attempts`, { cause: lastError });
}
