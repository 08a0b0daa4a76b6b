import type { Logger } from 'pino';
import type { PipelineDefinition } from '../definitions/pipeline.js';
import { StepwiseError } from '../errors/index.js';

/** A resource's setup threw; fails the steps that need it, with the cause. */
export class ResourceSetupError extends StepwiseError {
  constructor(name: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('RESOURCE_SETUP_FAILED', `resource '${name}' failed to set up: ${why}`, { cause, misuse: false });
  }
}

/**
 * Builds resources lazily, once per process and resource config, and tears them down in reverse order.
 * A worker serving many runs of the same pipeline reuses them across runs with the same config.
 */
export class ResourceManager {
  private readonly built = new Map<string, Promise<unknown>>();
  private readonly order: Array<{ name: string; key: string }> = [];

  constructor(
    private readonly pipeline: PipelineDefinition,
    private readonly logger: Logger,
  ) {}

  /** The resources named (default: all of the pipeline's), set up with `configs[name]`. */
  async get(configs: Record<string, unknown>, names?: readonly string[]): Promise<Record<string, unknown>> {
    const wanted = names ?? Object.keys(this.pipeline.resources);
    const out: Record<string, unknown> = {};
    for (const name of wanted) out[name] = await this.one(name, configs[name]);
    return out;
  }

  private one(name: string, config: unknown): Promise<unknown> {
    const def = this.pipeline.resources[name];
    if (!def) return Promise.reject(new ResourceSetupError(name, new Error('not provided by the pipeline')));
    const key = `${name}\0${JSON.stringify(config ?? null)}`;
    let pending = this.built.get(key);
    if (!pending) {
      pending = (async () => {
        try {
          return await def.setup({ config, log: this.logger.child({ resource: name }) });
        } catch (error) {
          throw new ResourceSetupError(name, error);
        }
      })();
      this.built.set(key, pending);
      this.order.push({ name, key });
      // A failed setup is retried by the next step that needs it rather than cached forever.
      pending.catch(() => this.built.delete(key));
    }
    return pending;
  }

  /** Tears down every resource built, last built first. Errors are logged, not thrown. */
  async teardown(): Promise<void> {
    for (const { name, key } of this.order.reverse()) {
      const pending = this.built.get(key);
      this.built.delete(key);
      if (!pending) continue;
      const def = this.pipeline.resources[name];
      try {
        const value = await pending;
        await def?.teardown?.(value);
      } catch (error) {
        this.logger.error({ err: error, resource: name }, `resource '${name}' failed to tear down`);
      }
    }
    this.order.length = 0;
  }
}
