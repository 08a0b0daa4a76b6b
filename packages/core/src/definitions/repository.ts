import { DefinitionError } from '../errors/index.js';
import type { PipelineDefinition } from './pipeline.js';

export interface RepositoryOptions {
  pipelines: PipelineDefinition[];
  /** Schedules (SPEC §7); kept opaque until the scheduler lands. */
  schedules?: unknown[];
}

export interface RepositoryDefinition {
  readonly kind: 'repository';
  readonly pipelines: ReadonlyMap<string, PipelineDefinition>;
  readonly schedules: readonly unknown[];
}

/** Groups the pipelines a file exports, so the CLI and workers find them by name. */
export function repository(options: RepositoryOptions): RepositoryDefinition {
  const pipelines = new Map<string, PipelineDefinition>();
  for (const p of options.pipelines ?? []) {
    if (p?.kind !== 'pipeline') throw new DefinitionError('repository(): pipelines must be pipeline() definitions');
    if (pipelines.has(p.name)) throw new DefinitionError(`repository(): two pipelines are named '${p.name}'`);
    pipelines.set(p.name, p);
  }
  return Object.freeze({
    kind: 'repository' as const,
    pipelines,
    schedules: Object.freeze([...(options.schedules ?? [])]),
  });
}
