import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { ConfigError, LoadError } from '../../errors/index.js';
import type { Executor, LaunchContext, StepLauncher } from '../executor.js';
import { MultiprocessLauncher } from './multiprocess-launcher.js';
import { stepHostExecArgv } from './step-host-entry.js';

export interface MultiprocessExecutorOptions {
  /** Step processes at once; each runs one step at a time. Default: `os.availableParallelism()`. */
  maxConcurrent?: number;
  /**
   * The module that declares the pipeline (default export, named export, or a repository), loaded once by every
   * step process. Default: the pipeline's `sourceFile`.
   */
  file?: string;
  /** After the run is aborted, how long a running step gets to stop before its process is killed. Default 5,000 ms. */
  abortGraceMs?: number;
  /** At close, how long step processes get to tear down resources and exit before being killed. Default 5,000 ms. */
  closeTimeoutMs?: number;
  /** Extra Node flags for the step processes (e.g. `--max-old-space-size=512`). Default none. */
  execArgv?: string[];
}

/**
 * Runs each step in a child process, so a CPU-heavy step does not block the coordinator and a crashing one
 * (exit, signal, out of memory) fails only itself. A pool of up to `maxConcurrent` processes per run, started
 * lazily, each loading the pipeline's code once and running one step at a time through `executeStep`.
 * Outputs go through the coordinator's IO manager over IPC, so any IO manager works.
 */
export class MultiprocessExecutor implements Executor {
  readonly kind = 'multiprocess';
  readonly maxConcurrent: number;

  constructor(private readonly options: MultiprocessExecutorOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? availableParallelism();
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) {
      throw new ConfigError('multiprocess executor options', [
        { path: 'maxConcurrent', message: `must be a positive integer, got ${String(options.maxConcurrent)}` },
      ]);
    }
  }

  async start(ctx: LaunchContext): Promise<StepLauncher> {
    const name = ctx.pipeline.name;
    const given = this.options.file ?? ctx.pipeline.sourceFile;
    if (!given) {
      throw new LoadError(
        `the multiprocess executor needs the file that declares pipeline '${name}': pass { file } to MultiprocessExecutor`,
      );
    }
    const file = resolvePath(given);
    if (!existsSync(file)) {
      throw new LoadError(
        `the multiprocess executor needs the file that declares pipeline '${name}': ${file} does not exist; pass { file } to MultiprocessExecutor`,
      );
    }
    return new MultiprocessLauncher(ctx, {
      file,
      maxConcurrent: this.maxConcurrent,
      abortGraceMs: this.options.abortGraceMs ?? 5_000,
      closeTimeoutMs: this.options.closeTimeoutMs ?? 5_000,
      execArgv: stepHostExecArgv(this.options.execArgv ?? []),
    });
  }
}
