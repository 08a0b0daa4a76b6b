import type { DaemonLoopStatus } from '@stepwise/core';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';

export interface LoopOptions {
  name: string;
  intervalMs: number;
  /** One pass; errors are logged and recorded in the heartbeat, and the loop goes on. */
  iterate: () => Promise<void>;
  clock: Clock;
  logger: Logger;
}

/**
 * A daemon loop: runs `iterate` every `intervalMs` (measured from the end of one pass to the start of the next),
 * or sooner when woken (a slot freed). Stops between passes.
 */
export class DaemonLoop {
  readonly name: string;
  readonly status: DaemonLoopStatus;
  private readonly stopController = new AbortController();
  private wakeController = new AbortController();
  private woken = false;
  private done?: Promise<void>;

  constructor(private readonly options: LoopOptions) {
    this.name = options.name;
    this.status = { intervalMs: options.intervalMs };
  }

  start(): void {
    this.done ??= this.run();
  }

  /** Runs the next pass now (or right after the current one). */
  wake(): void {
    this.woken = true;
    this.wakeController.abort();
  }

  /** Stops after the current pass; resolves when it has. */
  async stop(): Promise<void> {
    this.stopController.abort();
    this.wakeController.abort();
    await this.done;
  }

  private async run(): Promise<void> {
    const { clock, logger } = this.options;
    while (!this.stopController.signal.aborted) {
      this.woken = false;
      this.wakeController = new AbortController();
      const started = clock.now();
      try {
        await this.options.iterate();
        delete this.status.lastError;
      } catch (error) {
        this.status.lastError = (error as Error).message;
        logger.error({ err: error, loop: this.name }, `${this.name} iteration failed`);
      }
      this.status.lastIterationAt = clock.now();
      this.status.lastDurationMs = this.status.lastIterationAt - started;
      if (this.woken || this.stopController.signal.aborted) continue;
      await clock.sleep(this.options.intervalMs, this.wakeController.signal);
    }
  }
}
