import {
  type ChildMessage,
  type IORequestMessage,
  type IOResultMessage,
  makeEvent,
  StepProcessExitedError,
  serializeError,
} from '@stepwise/core';
import { StepKilledError, type StopCause } from './errors/index.js';
import type { HostTransport } from './host-transport.js';
import { type RunControl, type RunStatus, type StepRun, statusOf } from './step-runner.js';

interface Current {
  step: StepRun;
  control: RunControl;
  status?: RunStatus;
  killed?: StopCause;
  startedAt: number;
  resolve: (status: RunStatus) => void;
}

/**
 * One thread or process of a pool: runs one step at a time through core's step host, forwards its events to the
 * job processor, serves its IO requests with the step's IO manager, and kills it when it outlives its grace.
 */
export class PoolMember {
  private current?: Current;
  exited = false;
  /** Its code is loaded. */
  ready = false;
  /** Resolves once the host is gone. */
  readonly gone: Promise<void>;
  private markGone!: () => void;

  constructor(
    private readonly transport: HostTransport,
    private readonly settings: {
      workerId: string;
      graceMs: number;
      onExit: (member: PoolMember) => void;
      onKilled?: () => void;
    },
  ) {
    this.gone = new Promise((resolve) => {
      this.markGone = resolve;
    });
    transport.onMessage((message) => this.onMessage(message));
    transport.onExit((how) => this.onExit(how));
  }

  get label(): string {
    return this.transport.label;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  post: HostTransport['post'] = (message) => this.transport.post(message);

  run(step: StepRun, control: RunControl): Promise<RunStatus> {
    return new Promise<RunStatus>((resolve) => {
      const current: Current = { step, control, startedAt: performance.now(), resolve };
      this.current = current;
      const abort = () => {
        const reason = control.signal.reason;
        this.post({ type: 'abort', reason: reason instanceof Error ? reason.message : String(reason) });
      };
      if (control.signal.aborted) abort();
      else control.signal.addEventListener('abort', abort, { once: true });
      control.onOverdue = (cause) => {
        if (this.current !== current) return;
        current.killed = cause;
        this.settings.onKilled?.();
        this.transport.kill();
      };
      const sent = this.post({
        type: 'run',
        task: step.task,
        attempt: step.attempt,
        pipeline: step.pipeline.name,
        resourceConfig: step.resourceConfig,
      });
      if (!sent) this.fail(current, 'could not be sent to its host');
    });
  }

  /** Ends the host (at close, or when the pool gives up on it). */
  kill(): void {
    this.transport.kill();
  }

  private onMessage(message: ChildMessage): void {
    if (message.type === 'ready') {
      this.ready = true;
      return;
    }
    const current = this.current;
    if (!current) return;
    switch (message.type) {
      case 'event':
        current.status = statusOf(message.event, current.control.signal.aborted) ?? current.status;
        current.step.emit(message.event);
        break;
      case 'io':
        this.serveIO(current, message);
        break;
      case 'done':
        this.current = undefined;
        current.resolve(current.status ?? 'FAILURE');
        break;
    }
  }

  private serveIO(current: Current, message: IORequestMessage): void {
    const { io } = current.step;
    const { id } = message;
    const reply = (result: IOResultMessage) => {
      if (this.post(result) || this.exited || !result.ok) return;
      // The value could not be cloned: the step gets an error instead of waiting forever.
      this.post({
        type: 'io-result',
        id,
        ok: false,
        error: serializeError(new Error('the value could not be cloned')),
      });
    };
    let pending: Promise<unknown>;
    try {
      pending =
        message.op === 'store'
          ? io.store(message.ref, message.value, { attempt: current.step.attempt })
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

  private onExit(how: string): void {
    this.exited = true;
    this.markGone();
    const current = this.current;
    this.current = undefined;
    if (current) this.fail(current, `exited with ${how}`);
    this.settings.onExit(this);
  }

  /** The host died under the step (or was killed past its grace): STEP_FAILURE, unless it already ended. */
  private fail(current: Current, how: string): void {
    this.current = undefined;
    if (current.status !== undefined) {
      current.resolve(current.status);
      return;
    }
    const { task, attempt } = current.step;
    const error = current.killed
      ? new StepKilledError(task.key, this.label, current.killed, this.settings.graceMs)
      : new StepProcessExitedError(`step '${task.key}': its ${this.label} ${how}`, {
          exitCode: null,
          signal: null,
        });
    current.step.emit(
      makeEvent(
        'STEP_FAILURE',
        task.runId,
        { error: serializeError(error), durationMs: performance.now() - current.startedAt },
        { stepKey: task.key, attempt, workerId: this.settings.workerId, message: error.message },
      ),
    );
    current.resolve(current.control.signal.aborted && !current.killed ? 'CANCELED' : 'FAILURE');
  }
}
