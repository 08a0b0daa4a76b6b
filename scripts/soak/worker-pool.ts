/**
 * The soak's `stepwise worker` processes: spawns them, kills, freezes and thaws them on the fault injector's
 * orders, and keeps `size` of them alive: a killed worker is replaced at once, and a worker that dies on its own
 * is recorded (that is a finding) and replaced too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export interface WorkerPoolOptions {
  /** packages/core/bin/stepwise.js */
  cli: string;
  /** The pipeline file the workers load. */
  file: string;
  redisUrl: string;
  prefix: string;
  size: number;
  concurrency: number;
  lockDurationMs: number;
  /** Each worker's output goes to `<logDir>/<name>.log`. */
  logDir: string;
  /** Extra environment (the soak graph's size and seed). */
  env: Record<string, string>;
  log: (line: string) => void;
}

export interface SoakWorker {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Said 'worker started'. */
  ready: boolean;
  /** SIGSTOPped and not yet SIGCONTed. */
  frozen: boolean;
  /** SIGKILLed (or SIGTERMed at shutdown) by the soak. */
  killedBySoak: boolean;
  exited: Promise<void>;
  tail: string;
}

/** A worker that exited without the soak killing it. */
export interface UnexpectedExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It had started serving (a crash), rather than failing to start (e.g. Redis down at that moment). */
  wasReady: boolean;
  tail: string;
}

const TAIL_CHARS = 4_000;

export class WorkerPool {
  readonly workers = new Set<SoakWorker>();
  readonly unexpectedExits: UnexpectedExit[] = [];
  spawned = 0;
  kills = 0;
  freezes = 0;
  private closing = false;
  private readonly logs: WriteStream[] = [];
  private readonly killOnExit = () => {
    for (const w of this.workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
  };

  constructor(private readonly options: WorkerPoolOptions) {
    process.once('exit', this.killOnExit);
  }

  /** Workers running and not frozen. */
  live(): SoakWorker[] {
    return [...this.workers].filter((w) => !w.frozen && !w.killedBySoak && w.proc.exitCode === null);
  }

  spawn(): SoakWorker {
    const { options } = this;
    const name = `soak-w${++this.spawned}`;
    const args = [options.cli, 'worker', '-f', options.file, '--redis', options.redisUrl, '--prefix', options.prefix];
    args.push('--concurrency', String(options.concurrency), '--lock-duration', String(options.lockDurationMs));
    args.push('--name', name);
    const proc = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env, STEPWISE_LOG_LEVEL: 'info' },
    });
    const file = createWriteStream(join(options.logDir, `${name}.log`));
    this.logs.push(file);
    let resolveExit: () => void = () => {};
    const worker: SoakWorker = {
      name,
      proc,
      ready: false,
      frozen: false,
      killedBySoak: false,
      exited: new Promise((r) => {
        resolveExit = r;
      }),
      tail: '',
    };
    const onData = (chunk: Buffer) => {
      file.write(chunk);
      worker.tail = (worker.tail + chunk.toString()).slice(-TAIL_CHARS);
      if (!worker.ready && worker.tail.includes('worker started')) worker.ready = true;
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code, signal) => {
      this.workers.delete(worker);
      file.end();
      resolveExit();
      if (worker.killedBySoak || this.closing) return;
      this.unexpectedExits.push({ name, code, signal, wasReady: worker.ready, tail: worker.tail.slice(-1_500) });
      options.log(
        `worker ${name} exited on its own (code ${code}, signal ${signal}, ${worker.ready ? 'after starting' : 'before it started'}); replacing it`,
      );
      setTimeout(() => {
        if (!this.closing) this.spawn();
      }, 500).unref();
    });
    this.workers.add(worker);
    return worker;
  }

  /** SIGKILLs a worker and starts its replacement at once. */
  kill(worker: SoakWorker): SoakWorker {
    worker.killedBySoak = true;
    worker.proc.kill('SIGKILL');
    this.kills++;
    return this.spawn();
  }

  freeze(worker: SoakWorker): void {
    worker.frozen = true;
    worker.proc.kill('SIGSTOP');
    this.freezes++;
  }

  thaw(worker: SoakWorker): void {
    if (!worker.frozen) return;
    worker.frozen = false;
    worker.proc.kill('SIGCONT');
  }

  /** Thaws frozen workers, asks every worker to drain (SIGTERM), and SIGKILLs those still up after `graceMs`. */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    const all = [...this.workers];
    for (const w of all) {
      this.thaw(w);
      w.killedBySoak = true;
      w.proc.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      for (const w of all) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
    }, graceMs);
    await Promise.all(all.map((w) => w.exited));
    clearTimeout(timer);
    await Promise.all(this.logs.map((l) => new Promise((r) => l.end(r))));
    process.off('exit', this.killOnExit);
  }
}
