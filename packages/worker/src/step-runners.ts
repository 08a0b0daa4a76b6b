import { ConfigError, type PipelineDefinition, type StepTask } from '@stepwise/core';
import type { Logger } from 'pino';
import { type AbandonedStep, InlineRunner } from './inline-runner.js';
import { ISOLATION_TAG, type Isolation, isIsolation, isolationOf } from './isolation.js';
import { StepPool } from './step-pool.js';
import type { StepRunner } from './step-runner.js';

export interface StepRunnersOptions {
  isolation: Isolation;
  /** Members of each pool: the worker's concurrency. */
  poolSize: number;
  /** The definitions file pool members load; pools need one. */
  file?: string;
  workerId: string;
  graceMs: number;
  /** The worker's default step timeout (`--step-timeout`); an op's timeoutMs wins. */
  stepTimeoutMs?: number;
  logger: Logger;
  onKilled?: (isolation: 'thread' | 'process') => void;
  onAbandoned?: (step: AbandonedStep) => void;
  onPoolChange?: () => void;
}

/**
 * The worker's runners: its own loop (`none`) and the pools, the default one started with the worker, the
 * others when a step's `isolation` tag first asks for them.
 */
export class StepRunners {
  readonly inline: InlineRunner;
  private readonly pools = new Map<'thread' | 'process', StepPool>();

  constructor(private readonly options: StepRunnersOptions) {
    this.inline = new InlineRunner({
      workerId: options.workerId,
      graceMs: options.graceMs,
      logger: options.logger,
      onAbandoned: options.onAbandoned,
    });
  }

  get isolation(): Isolation {
    return this.options.isolation;
  }

  get graceMs(): number {
    return this.options.graceMs;
  }

  /**
   * Starts the members of the default pool and of the pools the ops of `pipelines` ask for with their
   * `isolation` tag, so that their code loads while the worker connects rather than on the first step.
   */
  start(pipelines: Iterable<PipelineDefinition> = []): void {
    const kinds = new Set<Isolation>([this.options.isolation]);
    for (const pipeline of pipelines) {
      for (const node of pipeline.nodes.values()) {
        const tag = node.tags[ISOLATION_TAG] ?? node.op.tags[ISOLATION_TAG];
        if (isIsolation(tag)) kinds.add(tag);
      }
    }
    for (const kind of kinds) if (kind !== 'none') this.pool(kind);
  }

  /** The runner of `task`: its `isolation` tag's, else the worker's. Throws a ConfigError on a bad tag. */
  runnerFor(task: StepTask): StepRunner {
    const isolation = isolationOf(task, this.options.isolation);
    return isolation === 'none' ? this.inline : this.pool(isolation);
  }

  /** The step's time limit: its op's timeoutMs, else the worker's --step-timeout; none when neither is set. */
  timeoutOf(task: StepTask, pipeline: PipelineDefinition): { ms: number; source: string } | undefined {
    const own = pipeline.nodes.get(task.planKey)?.op.timeoutMs;
    if (own !== undefined) return { ms: own, source: `op '${task.op}' timeoutMs` };
    const worker = this.options.stepTimeoutMs;
    return worker === undefined || worker <= 0 ? undefined : { ms: worker, source: 'the worker --step-timeout' };
  }

  /** Each started pool's size and busy members. */
  poolStats(): Array<{ isolation: 'thread' | 'process'; size: number; ready: number; busy: number }> {
    return [...this.pools.values()].map((p) => ({ isolation: p.kind, size: p.size, ready: p.ready, busy: p.busy }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
    await this.inline.teardown();
  }

  private pool(kind: 'thread' | 'process'): StepPool {
    let pool = this.pools.get(kind);
    if (!pool) {
      const { options } = this;
      if (!options.file) {
        throw new ConfigError('the worker options', [
          { path: 'file', message: `isolation '${kind}' needs the definitions file (-f FILE) to load in each ${kind}` },
        ]);
      }
      pool = new StepPool({
        kind,
        size: options.poolSize,
        file: options.file,
        workerId: options.workerId,
        graceMs: options.graceMs,
        logger: options.logger,
        onKilled: () => options.onKilled?.(kind),
        onChange: options.onPoolChange,
      });
      pool.start();
      this.pools.set(kind, pool);
    }
    return pool;
  }
}
