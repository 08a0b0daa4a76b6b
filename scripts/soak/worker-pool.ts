/**
 * The soak's `stepwise worker` processes: spawns them, kills, freezes and thaws them on the fault injector's
 * orders, and keeps `size` of them alive: a killed worker is replaced at once, and a worker that dies on its own
 * is recorded (that is a finding) and replaced too.
 */
import { join } from 'node:path';
import { spawnWorker, stopProcess, type WorkerProcess } from '@stepwise/testing';

export interface WorkerPoolOptions {
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

/** A `stepwise worker` of the pool, with what the fault injector did to it. */
export class SoakWorker {
  /** SIGSTOPped and not yet SIGCONTed. */
  frozen = false;
  /** SIGKILLed (or SIGTERMed at shutdown) by the soak. */
  killedBySoak = false;

  constructor(readonly process: WorkerProcess) {}

  get name(): string {
    return this.process.name;
  }

  get proc(): WorkerProcess['proc'] {
    return this.process.proc;
  }

  /** Said 'worker started'. */
  get ready(): boolean {
    return this.process.ready;
  }

  /** The last of its output. */
  get tail(): string {
    return this.process.output();
  }
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

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Workers running and not frozen. */
  live(): SoakWorker[] {
    return [...this.workers].filter((w) => !w.frozen && !w.killedBySoak && w.proc.exitCode === null);
  }

  spawn(): SoakWorker {
    const { options } = this;
    const name = `soak-w${++this.spawned}`;
    const worker = new SoakWorker(
      spawnWorker({
        file: options.file,
        redisUrl: options.redisUrl,
        prefix: options.prefix,
        name,
        concurrency: options.concurrency,
        lockDurationMs: options.lockDurationMs,
        env: options.env,
        logFile: join(options.logDir, `${name}.log`),
        keepChars: TAIL_CHARS,
      }),
    );
    worker.proc.once('exit', (code, signal) => {
      this.workers.delete(worker);
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
    }
    await Promise.all(all.map((w) => stopProcess(w.proc, { graceMs })));
  }
}
