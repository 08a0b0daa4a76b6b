import { DefinitionError } from '../errors/index.js';
import type { PipelineDefinition } from './pipeline.js';
import type { ScheduleDefinition } from './schedule.js';

export interface RepositoryOptions {
  pipelines: PipelineDefinition[];
  /** Schedules (docs/scheduler.md), each of a pipeline in `pipelines`. */
  schedules?: ScheduleDefinition[];
}

export interface RepositoryDefinition {
  readonly kind: 'repository';
  readonly pipelines: ReadonlyMap<string, PipelineDefinition>;
  readonly schedules: ReadonlyMap<string, ScheduleDefinition>;
}

/** Groups the pipelines a file exports, so the CLI and workers find them by name. */
export function repository(options: RepositoryOptions): RepositoryDefinition {
  const pipelines = new Map<string, PipelineDefinition>();
  for (const p of options.pipelines ?? []) {
    if (p?.kind !== 'pipeline') throw new DefinitionError('repository(): pipelines must be pipeline() definitions');
    if (pipelines.has(p.name)) throw new DefinitionError(`repository(): two pipelines are named '${p.name}'`);
    pipelines.set(p.name, p);
  }
  const schedules = new Map<string, ScheduleDefinition>();
  for (const s of options.schedules ?? []) {
    if (s?.kind !== 'schedule') throw new DefinitionError('repository(): schedules must be schedule() definitions');
    if (schedules.has(s.name)) throw new DefinitionError(`repository(): two schedules are named '${s.name}'`);
    if (pipelines.get(s.pipeline.name) !== s.pipeline) {
      throw new DefinitionError(
        `schedule '${s.name}': pipeline '${s.pipeline.name}' is not one of this repository's pipelines: add it to pipelines`,
      );
    }
    schedules.set(s.name, s);
  }
  return Object.freeze({ kind: 'repository' as const, pipelines, schedules });
}
