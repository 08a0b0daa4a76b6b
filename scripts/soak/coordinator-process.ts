/**
 * The parent's side of the soak's coordinator (coordinator.ts): starts it for one run, reads its `SOAK {json}`
 * lines, and can SIGKILL it mid-run and start it again with --resume. `done` settles with the run's end as the
 * last coordinator of the run reports it, or rejects when one exits without reporting (and was not killed).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface CoordinatorOptions {
  /** scripts/soak/coordinator.ts */
  script: string;
  cwd: string;
  home: string;
  runId: string;
  redisUrl: string;
  prefix: string;
  lockDurationMs: number;
  env: Record<string, string>;
  /** The coordinators' stderr (engine logs) is appended here. */
  logFile: string;
}

export interface RunEnd {
  status: string;
  counts?: Record<string, number>;
}

/** A coordinator the soak froze past its lease while a successor took the run, then thawed (fault-injector.ts). */
export interface FrozenCoordinator {
  runId: string;
  pid: number;
  /** What it reported once thawed (its executePipeline's status: SUPERSEDED), if anything. */
  reported?: string;
  /** Its exit code, or undefined when it had not exited 30 s after the thaw. */
  exitCode?: number | null;
}

const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export class CoordinatorRun {
  /** Times a coordinator was killed and a resuming one started. */
  restarts = 0;
  readonly done: Promise<RunEnd>;
  private child?: ChildProcess;
  private killing = false;
  private resolve!: (end: RunEnd) => void;
  private reject!: (error: Error) => void;
  private readonly log: WriteStream;
  private tail = '';
  private readonly staleReports = new Map<ChildProcess, string>();

  constructor(private readonly options: CoordinatorOptions) {
    this.done = new Promise<RunEnd>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {});
    this.log = createWriteStream(options.logFile, { flags: 'a' });
  }

  get runId(): string {
    return this.options.runId;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(resume = false): void {
    const { options } = this;
    const args = ['--conditions=source', '--import', TSX_LOADER, options.script];
    args.push('--home', options.home, '--run-id', options.runId, '--redis', options.redisUrl);
    args.push('--prefix', options.prefix, '--lock-duration', String(options.lockDurationMs));
    if (resume) args.push('--resume');
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env, STEPWISE_LOG_LEVEL: 'info' },
    });
    this.child = child;
    this.log.write(`--- coordinator pid ${child.pid}${resume ? ' (resume)' : ''} ---\n`);
    let reported = false;
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        this.log.write(`${line}\n`);
        if (!line.startsWith('SOAK ')) continue;
        const message = JSON.parse(line.slice(5)) as {
          event: string;
          status?: string;
          counts?: Record<string, number>;
        };
        // A superseded (thawed) coordinator's report is not the run's end.
        if (this.child !== child) {
          this.staleReports.set(child, String(message.status ?? message.event));
          continue;
        }
        if (message.event === 'done') {
          reported = true;
          this.resolve({ status: String(message.status), counts: message.counts });
        } else if (message.event === 'error') {
          reported = true;
          this.reject(new Error(`the coordinator failed: ${(message as { message?: string }).message}`));
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.log.write(chunk);
      this.tail = (this.tail + chunk.toString()).slice(-3_000);
    });
    child.once('exit', (code, signal) => {
      if (reported || (this.killing && this.child === child)) return;
      if (this.child !== child) return;
      this.reject(
        new Error(
          `the coordinator exited (code ${code}, signal ${signal}) without reporting: ${this.tail.slice(-1_000)}`,
        ),
      );
    });
  }

  /** SIGKILLs the coordinator, stays down `downMs`, then starts one that resumes the run. */
  async killAndResume(downMs: number): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.killing = true;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, downMs));
    this.killing = false;
    this.restarts++;
    this.start(true);
  }

  /**
   * SIGSTOPs the coordinator, waits `freezeMs`, starts one that resumes the run, waits until `taken()` (the successor
   * holds the lease) and SIGCONTs the frozen one, which must find itself superseded and exit.
   */
  async freezeAndResume(freezeMs: number, taken: () => Promise<boolean>): Promise<FrozenCoordinator | undefined> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return undefined;
    const frozen: FrozenCoordinator = { runId: this.runId, pid: child.pid };
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, freezeMs));
    this.restarts++;
    this.start(true);
    for (const until = Date.now() + 30_000; Date.now() < until && !(await taken().catch(() => false)); ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGCONT');
    const code = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000))]);
    if (code !== 'running') frozen.exitCode = code;
    else child.kill('SIGKILL');
    const reported = this.staleReports.get(child);
    if (reported !== undefined) frozen.reported = reported;
    return frozen;
  }

  /** Kills whatever coordinator is running (a stuck run's, at the end of the soak). */
  async stop(): Promise<void> {
    const child = this.child;
    this.killing = true;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    await new Promise((r) => this.log.end(r));
  }
}
