import type { Logger } from 'pino';
import { type HostTransport, startProcess, startThread } from './host-transport.js';
import { PoolMember } from './pool-member.js';
import type { RunControl, RunStatus, StepRun, StepRunner } from './step-runner.js';

export interface StepPoolOptions {
  kind: 'thread' | 'process';
  /** Members kept (the worker's concurrency). */
  size: number;
  /** The definitions file every member loads once. */
  file: string;
  workerId: string;
  graceMs: number;
  logger: Logger;
  /** A member was killed past its grace (for the metrics). */
  onKilled?: () => void;
  /** Members became busy or idle (for the metrics). */
  onChange?: () => void;
}

/**
 * `--isolation thread|process`: a pool of step hosts, each loading the code once and keeping its resources, each
 * running one step at a time. The worker's own loop only moves messages, so a CPU-bound step neither blocks lock
 * renewal nor the worker's other steps. A member that dies (or is killed) is replaced at once, so the next step
 * finds a loaded one.
 */
export class StepPool implements StepRunner {
  private readonly members = new Set<PoolMember>();
  private readonly idle: PoolMember[] = [];
  private readonly waiting: Array<(member: PoolMember) => void> = [];
  private closing = false;

  constructor(private readonly options: StepPoolOptions) {}

  get kind(): 'thread' | 'process' {
    return this.options.kind;
  }

  get size(): number {
    return this.members.size;
  }

  /** Members whose code is loaded. */
  get ready(): number {
    let n = 0;
    for (const member of this.members) if (member.ready) n++;
    return n;
  }

  get busy(): number {
    return this.members.size - this.idle.length;
  }

  /** Starts every member, so that their code is loaded before the first step. */
  start(): void {
    while (this.members.size < this.options.size) this.release(this.spawn());
  }

  async run(step: StepRun, control: RunControl): Promise<RunStatus> {
    const member = await this.acquire();
    this.options.onChange?.();
    try {
      return await member.run(step, control);
    } finally {
      // A member that died under its step was replaced already (onExit).
      if (!member.exited) this.release(member);
      this.options.onChange?.();
    }
  }

  /** Asks every member to tear down its resources and exit; kills those still there after `timeoutMs`. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closing = true;
    const members = [...this.members];
    const gone = Promise.all(members.map((member) => member.gone));
    for (const member of members) if (!member.post({ type: 'exit' })) member.kill();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    if (!(await Promise.race([gone.then(() => true), late]))) {
      for (const member of members) if (!member.exited) member.kill();
      await gone;
    }
    clearTimeout(timer);
  }

  private spawn(): PoolMember {
    const { options } = this;
    const transport: HostTransport = options.kind === 'thread' ? startThread() : startProcess();
    const member = new PoolMember(transport, {
      workerId: options.workerId,
      graceMs: options.graceMs,
      onExit: (gone) => this.onExit(gone),
      onKilled: options.onKilled,
    });
    this.members.add(member);
    member.post({
      type: 'init',
      file: options.file,
      workerId: options.workerId,
      logLevel: options.logger.level,
      captureLogs: false,
    });
    return member;
  }

  private onExit(member: PoolMember): void {
    this.members.delete(member);
    const i = this.idle.indexOf(member);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.closing) return;
    this.options.logger.warn({ member: member.label }, `step ${member.label} exited; starting a new one`);
    this.release(this.spawn());
  }

  private acquire(): Promise<PoolMember> {
    const member = this.idle.pop();
    if (member) return Promise.resolve(member);
    if (this.members.size < this.options.size) return Promise.resolve(this.spawn());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(member: PoolMember): void {
    const next = this.waiting.shift();
    if (next) next(member);
    else this.idle.push(member);
  }
}
