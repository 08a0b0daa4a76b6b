import { type ChildProcess, fork } from 'node:child_process';
import { hostname } from 'node:os';
import { retryDelayMs } from '../../definitions/op.js';
import { StepwiseError } from '../../errors/index.js';
import { makeEvent, serializeError } from '../../events/events.js';
import type { StepTask } from '../../plan/plan.js';
import type { LaunchContext, StepLauncher } from '../executor.js';
import {
  type ChildMessage,
  type IORequestMessage,
  type IOResultMessage,
  type ParentMessage,
  StepProcessIpcError,
} from './ipc-protocol.js';
import { stepHostEntry } from './step-host-entry.js';

const CHILD_ENTRY = stepHostEntry('process');
const OUTPUT_TAIL = 4_096;

/** A step process died while running a step: crash, `process.exit`, a signal, out of memory. */
export class StepProcessExitedError extends StepwiseError {
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  constructor(message: string, details: { pid?: number; exitCode: number | null; signal: NodeJS.Signals | null }) {
    super('STEP_PROCESS_EXITED', message, { misuse: false });
    this.pid = details.pid;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
  }
}

interface Running {
  task: StepTask;
  attempt: number;
  startedAt: number;
  abortReason?: string;
  killedAfterGrace?: boolean;
}

interface StepProcess {
  child: ChildProcess;
  pid?: number;
  workerId: string;
  running?: Running;
  /** Output goes to this step: the running one, else the last one (its final writes may trail its done message). */
  logStep?: { runId: string; key: string };
  /** The last few KB of its stdout/stderr, for crash reports. */
  tail: string;
  exited: boolean;
  killTimer?: NodeJS.Timeout;
  closed: Promise<void>;
}

export interface LauncherSettings {
  file: string;
  maxConcurrent: number;
  abortGraceMs: number;
  closeTimeoutMs: number;
  execArgv: string[];
}

/**
 * The step processes of one run (see MultiprocessExecutor): hands each ready step to an idle one, and starts more
 * up to the limit.
 */
export class MultiprocessLauncher implements StepLauncher {
  private readonly procs = new Set<StepProcess>();
  private readonly queue: Array<{ task: StepTask; attempt: number }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private abortReason?: string;
  private closing = false;

  constructor(
    private readonly ctx: LaunchContext,
    private readonly settings: LauncherSettings,
  ) {}

  launch(task: StepTask, attempt: number, delayMs: number): void {
    if (this.closing) return;
    if (delayMs <= 0) {
      this.queue.push({ task, attempt });
      this.dispatch();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.queue.push({ task, attempt });
      this.dispatch();
    }, delayMs);
    this.timers.add(timer);
  }

  abort(reason: string): void {
    this.abortReason = reason;
    this.clearPending();
    for (const proc of this.procs) {
      const running = proc.running;
      if (!running || running.abortReason !== undefined) continue;
      running.abortReason = reason;
      this.send(proc, { type: 'abort', reason });
      // A step that ignores ctx.signal (or blocks its event loop) is stopped the hard way.
      proc.killTimer = setTimeout(() => {
        if (proc.running !== running) return;
        running.killedAfterGrace = true;
        proc.child.kill('SIGKILL');
      }, this.settings.abortGraceMs);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.clearPending();
    const procs = [...this.procs];
    for (const proc of procs) {
      clearTimeout(proc.killTimer);
      if (proc.child.connected) this.send(proc, { type: 'exit' });
      else proc.child.kill('SIGKILL');
    }
    const all = Promise.all(procs.map((p) => p.closed));
    if (!(await within(all, this.settings.closeTimeoutMs))) {
      for (const proc of procs) {
        if (!proc.exited) {
          this.ctx.logger.warn({ pid: proc.pid }, `step process ${proc.pid} did not exit in time; killing it`);
          proc.child.kill('SIGKILL');
        }
      }
      if (!(await within(all, 5_000))) this.ctx.logger.error('step processes did not exit after SIGKILL');
    }
  }

  private clearPending(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
  }

  /** Hands queued steps to idle processes, starting new ones up to the limit. */
  private dispatch(): void {
    while (!this.closing && this.queue.length > 0) {
      let proc: StepProcess | undefined;
      let alive = 0;
      for (const p of this.procs) {
        if (p.exited) continue;
        alive++;
        if (!p.running && !proc) proc = p;
      }
      if (!proc) {
        if (alive >= this.settings.maxConcurrent) return;
        proc = this.spawn();
      }
      const item = this.queue.shift() as { task: StepTask; attempt: number };
      proc.running = { ...item, startedAt: performance.now() };
      proc.logStep = { runId: item.task.runId, key: item.task.key };
      this.send(proc, { type: 'run', task: item.task, attempt: item.attempt, resourceConfig: this.ctx.plan.resources });
    }
  }

  private spawn(): StepProcess {
    const { ctx, settings } = this;
    const child = fork(CHILD_ENTRY, [], {
      execArgv: settings.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    let resolveClosed!: () => void;
    const proc: StepProcess = {
      child,
      pid: child.pid,
      workerId: `${hostname()}/${child.pid}`,
      tail: '',
      exited: false,
      closed: new Promise((resolve) => (resolveClosed = resolve)),
    };
    this.procs.add(proc);
    child.on('message', (message) => this.onMessage(proc, message as ChildMessage));
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]?.setEncoding('utf8').on('data', (chunk: string) => this.onOutput(proc, stream, chunk));
    }
    child.on('error', (error) => ctx.logger.warn({ err: error, pid: proc.pid }, 'step process error'));
    let fallback: NodeJS.Timeout | undefined;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (!this.procs.has(proc)) return;
      clearTimeout(fallback);
      this.onExit(proc, code, signal);
      resolveClosed();
    };
    // 'close' comes after the pipes are drained, so the output tail is complete; 'exit' is the fallback should
    // a grandchild keep the pipes open.
    child.once('close', finish);
    child.once('exit', (code, signal) => {
      proc.exited = true;
      fallback = setTimeout(() => finish(code, signal), 1_000);
    });
    this.send(proc, {
      type: 'init',
      file: settings.file,
      run: { runId: ctx.runId, pipeline: ctx.pipeline.name, fingerprint: ctx.plan.fingerprint },
      logLevel: ctx.logger.level,
      captureLogs: ctx.instance.computeLogs !== undefined,
    });
    return proc;
  }

  private send(proc: StepProcess, message: ParentMessage): boolean {
    if (!proc.child.connected) return false;
    try {
      proc.child.send(message);
      return true;
    } catch (error) {
      this.ctx.logger.warn({ err: error, pid: proc.pid }, `could not send a ${message.type} message to step process`);
      return false;
    }
  }

  private onMessage(proc: StepProcess, message: ChildMessage): void {
    switch (message.type) {
      case 'event':
        this.ctx.receive(message.event);
        break;
      case 'done':
        clearTimeout(proc.killTimer);
        proc.running = undefined;
        this.dispatch();
        break;
      case 'io':
        this.serveIO(proc, message);
        break;
    }
  }

  private serveIO(proc: StepProcess, message: IORequestMessage): void {
    const { io } = this.ctx;
    const { id } = message;
    const reply = (result: IOResultMessage) => {
      if (this.send(proc, result) || !proc.child.connected || !result.ok) return;
      // The value could not be cloned: the step gets an error instead of waiting forever.
      this.send(proc, {
        type: 'io-result',
        id,
        ok: false,
        error: serializeError(
          new StepProcessIpcError(
            `the stored value of ${message.ref.step}.${message.ref.output} could not be sent to the step process`,
          ),
        ),
      });
    };
    let pending: Promise<unknown>;
    try {
      pending =
        message.op === 'store'
          ? io.store(message.ref, message.value)
          : message.op === 'load'
            ? io.load(message.ref)
            : io.has(message.ref);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => reply({ type: 'io-result', id, ok: true, value: message.op === 'store' ? undefined : value }),
      (error: unknown) => reply({ type: 'io-result', id, ok: false, error: serializeError(error) }),
    );
  }

  private onOutput(proc: StepProcess, stream: 'stdout' | 'stderr', chunk: string): void {
    proc.tail = (proc.tail + chunk).slice(-OUTPUT_TAIL);
    const step = proc.logStep;
    const logs = this.ctx.instance.computeLogs;
    if (step && logs) {
      try {
        logs.append(step.runId, step.key, stream, chunk);
      } catch (error) {
        this.ctx.logger.warn({ err: error }, 'could not append to the compute log');
      }
    }
  }

  private onExit(proc: StepProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.procs.delete(proc);
    proc.exited = true;
    clearTimeout(proc.killTimer);
    const running = proc.running;
    proc.running = undefined;
    if (this.closing) return;
    if (running) this.reportDeath(proc, running, code, signal);
    else this.ctx.logger.warn({ pid: proc.pid, code, signal }, `idle step process ${proc.pid} exited`);
    // Later steps get a fresh process.
    this.dispatch();
  }

  /** The step's process died under it: STEP_FAILURE, or STEP_UP_FOR_RETRY while its retry policy allows. */
  private reportDeath(proc: StepProcess, running: Running, code: number | null, signal: NodeJS.Signals | null): void {
    const { task, attempt } = running;
    // V8 aborts (SIGABRT) on a full heap; say so, as the signal alone does not.
    const oom = proc.tail.includes('JavaScript heap out of memory') ? ' (out of memory)' : '';
    const how = `${signal ? `signal ${signal}` : `code ${code}`}${oom}`;
    const message = running.killedAfterGrace
      ? `step '${task.key}' was aborted (${running.abortReason}) and did not stop within ${this.settings.abortGraceMs} ms, so its process ${proc.pid} was killed with ${how}`
      : `step process ${proc.pid} exited with ${how} while running step '${task.key}'`;
    const error = serializeError(new StepProcessExitedError(message, { pid: proc.pid, exitCode: code, signal }));
    // The parent's stack says nothing about the step; what the process printed last usually does.
    error.stack = proc.tail
      ? `${error.name}: ${message}\n--- last output of process ${proc.pid} ---\n${proc.tail}`
      : undefined;
    const extra = { stepKey: task.key, attempt, workerId: proc.workerId, message };
    const policy = task.retry ?? this.ctx.pipeline.nodes.get(task.planKey)?.op.retry;
    const aborted = this.abortReason !== undefined || running.abortReason !== undefined;
    if (!aborted && policy && attempt <= policy.maxRetries) {
      const delayMs = retryDelayMs(policy, attempt);
      this.ctx.receive(makeEvent('STEP_UP_FOR_RETRY', task.runId, { error, delayMs, nextAttempt: attempt + 1 }, extra));
      return;
    }
    const durationMs = performance.now() - running.startedAt;
    this.ctx.receive(makeEvent('STEP_FAILURE', task.runId, { error, durationMs }, extra));
  }
}

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
