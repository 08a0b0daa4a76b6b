import type { Logger } from 'pino';
import type { z } from 'zod';
import { DefinitionError } from '../errors/index.js';

export interface ResourceInitContext<C> {
  readonly config: C;
  readonly log: Logger;
}

export interface ResourceOptions<T, C extends z.ZodType | undefined> {
  description?: string;
  /** Schema of `resources.<name>.config` in the run config. */
  config?: C;
  /** Builds the resource; called once per process (or per run in-process). */
  setup: (ctx: ResourceInitContext<C extends z.ZodType ? z.output<C> : undefined>) => T | Promise<T>;
  /** Releases it after the last step of the process or run. */
  teardown?: (value: T) => void | Promise<void>;
}

export interface ResourceDefinition<T = unknown> {
  readonly kind: 'resource';
  readonly description?: string;
  readonly configSchema?: z.ZodType;
  readonly setup: (ctx: ResourceInitContext<unknown>) => T | Promise<T>;
  teardown?(value: T): void | Promise<void>;
}

/** Declares a resource: a client, pool or handle built once per process and given to ops by name. */
export function resource<T, C extends z.ZodType | undefined = undefined>(
  options: ResourceOptions<T, C>,
): ResourceDefinition<T> {
  if (typeof options?.setup !== 'function') throw new DefinitionError('resource() needs a setup function');
  return Object.freeze({
    kind: 'resource' as const,
    description: options.description,
    configSchema: options.config,
    setup: options.setup as ResourceDefinition<T>['setup'],
    teardown: options.teardown,
  });
}
