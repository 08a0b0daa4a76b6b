import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type RunRecord, STEPWISE_BIN } from '@stepwise/core';
import type { LaunchDetails, LauncherContext, RunLauncher } from './run-launcher.js';

/** A `stepwise run --run-id -` process started ahead of need, waiting on stdin for the id of the run to start. */
interface Spare {
  child: ChildProcess;
  /** Its output file, renamed to the run's once it is given one. */
  log?: string;
}

/**
 * `runLauncher: { process: {} }`: a detached `stepwise run --run-id ID` process per run (`stepwise resume ID` to
 * resume), in its own process group, so it outlives the daemon. Its output goes to
 * `<home>/daemon/runs/<runId>.log`.
 *
 * A new Node process spends most of a second (far more on a loaded host) loading the CLI, opening storage and
 * installing the TypeScript loader before the run can start, so one spare is kept started and warm: a launch hands
 * it the run id on its stdin and starts the next spare (from the daemon's first launch on). A spare whose daemon is
 * gone reads EOF and exits.
 */
export class ProcessLauncher implements RunLauncher {
  readonly kind = 'process';
  private spare?: Spare;
  private closed = false;
  private spares = 0;

  /** The first spare starts with the first launch: a daemon that launches nothing (scheduler only) has none. */
  constructor(private readonly context: LauncherContext) {}

  launch(run: RunRecord): Promise<LaunchDetails> {
    const spare = this.takeSpare();
    if (!spare) return this.spawn(run.runId, ['run', '--run-id', run.runId]);
    const { logger, instance } = this.context;
    if (spare.log && instance.home) renameSync(spare.log, this.logFile(run.runId));
    this.follow(run.runId, spare.child);
    spare.child.stdin?.end(`${run.runId}\n`);
    logger.debug({ runId: run.runId, pid: spare.child.pid }, 'run handed to the warm spare process');
    return Promise.resolve({ pid: spare.child.pid ?? -1 });
  }

  resume(run: RunRecord): Promise<LaunchDetails> {
    return this.spawn(run.runId, ['resume', run.runId]);
  }

  /** The spare if it is alive, and a new one started behind it. */
  private takeSpare(): Spare | undefined {
    const spare = this.spare;
    this.spare = this.startSpare();
    if (!spare || spare.child.exitCode !== null || spare.child.signalCode !== null || !spare.child.stdin?.writable) {
      if (spare) this.discard(spare);
      return undefined;
    }
    return spare;
  }

  private startSpare(): Spare | undefined {
    if (this.closed) return undefined;
    const log = this.context.instance.home ? this.logFile(`.spare-${process.pid}-${++this.spares}`) : undefined;
    const out = log ? openSync(log, 'a') : 'ignore';
    const child = spawn(process.execPath, [STEPWISE_BIN, 'run', '--run-id', '-'], {
      detached: true,
      stdio: ['pipe', out, out],
      env: this.env(),
    });
    if (typeof out === 'number') closeSync(out);
    child.once('error', (error) => this.context.logger.warn({ err: error }, 'the spare run process failed to start'));
    // Neither the spare nor its pipe keeps the daemon alive.
    child.unref();
    (child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
    child.stdin?.on('error', () => {});
    return { child, ...(log ? { log } : {}) };
  }

  private logFile(name: string): string {
    const dir = join(this.context.instance.home as string, 'daemon', 'runs');
    mkdirSync(dir, { recursive: true });
    return join(dir, `${name}.log`);
  }

  private env(): NodeJS.ProcessEnv {
    const { home } = this.context.instance;
    return { ...process.env, ...(home ? { STEPWISE_HOME: home } : {}) };
  }

  private spawn(runId: string, args: string[]): Promise<LaunchDetails> {
    const { instance, logger } = this.context;
    const out = instance.home ? openSync(this.logFile(runId), 'a') : 'ignore';
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [STEPWISE_BIN, ...args], {
        detached: true,
        stdio: ['ignore', out, out],
        env: this.env(),
      });
      if (typeof out === 'number') closeSync(out);
      child.once('error', reject);
      child.once('spawn', () => {
        logger.debug({ runId, pid: child.pid, args }, 'run process started');
        resolve({ pid: child.pid ?? -1 });
      });
      this.follow(runId, child);
      // The daemon may exit before the run: do not keep it alive for the child.
      child.unref();
    });
  }

  private follow(runId: string, child: ChildProcess): void {
    child.once('exit', (code, signal) => {
      this.context.logger.debug({ runId, code, signal }, 'run process exited');
      this.context.onRunEnded(runId);
    });
  }

  /** Lets the spare go: it reads EOF and exits without doing anything. */
  async close(): Promise<void> {
    this.closed = true;
    const spare = this.spare;
    this.spare = undefined;
    if (spare) this.discard(spare);
  }

  /** Ends a spare that will not be used (EOF: it exits without doing anything) and removes its empty log. */
  private discard(spare: Spare): void {
    spare.child.stdin?.end();
    if (spare.log) rmSync(spare.log, { force: true });
  }
}
