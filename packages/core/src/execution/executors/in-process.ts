import type { StepTask } from '../../plan/plan.js';
import { executeStep } from '../execute-step.js';
import type { Executor, LaunchContext, StepLauncher } from '../executor.js';
import { ResourceManager } from '../resource-manager.js';
import type { StepRuntime } from '../step-runtime.js';

export interface InProcessExecutorOptions {
  /** Steps running at once (they interleave on this event loop). Default 32. */
  maxConcurrent?: number;
}

/** Runs steps in the coordinator's process, interleaved on its event loop. Resources are built once per run. */
export class InProcessExecutor implements Executor {
  readonly kind = 'inProcess';
  readonly maxConcurrent: number;

  constructor(options: InProcessExecutorOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? 32;
  }

  async start(ctx: LaunchContext): Promise<StepLauncher> {
    const resources = new ResourceManager(ctx.pipeline, ctx.logger);
    const runtime: StepRuntime = {
      pipeline: ctx.pipeline,
      io: ctx.io,
      resources,
      computeLogs: ctx.instance.computeLogs,
      logger: ctx.logger,
    };
    const controller = new AbortController();
    const timers = new Set<NodeJS.Timeout>();
    const running = new Set<Promise<unknown>>();
    const run = (task: StepTask, attempt: number) => {
      const p = executeStep(task, attempt, runtime, {
        signal: controller.signal,
        emit: ctx.receive,
        resourceConfig: ctx.plan.resources,
      });
      running.add(p);
      p.finally(() => running.delete(p));
    };
    return {
      launch(task, attempt, delayMs) {
        if (delayMs <= 0) {
          run(task, attempt);
          return;
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          run(task, attempt);
        }, delayMs);
        timers.add(timer);
      },
      abort(reason) {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        controller.abort(new Error(reason));
      },
      async close() {
        for (const t of timers) clearTimeout(t);
        await Promise.allSettled([...running]);
        await resources.teardown();
      },
    };
  }
}
