export type {
  CollectHandle,
  DynamicHandle,
  DynamicScope,
  InputArg,
  InputBinding,
  NodeSpec,
  OutputHandle,
} from './composition.js';
export type { MaterializationInput, OpContext, UserEvent } from './context.js';
export {
  type DynamicItem,
  dynamicItem,
  isDynamicItem,
  type Op,
  type OpDefinition,
  type OpOptions,
  type OutputDecl,
  type OutputDefinition,
  type OutputSpec,
  op,
  type RetryPolicy,
  retryDelayMs,
  type Schema,
} from './op.js';
export { type DepSource, type PipelineDefinition, type PipelineOptions, pipeline } from './pipeline.js';
export { type RepositoryDefinition, type RepositoryOptions, repository } from './repository.js';
export { type ResourceDefinition, type ResourceInitContext, type ResourceOptions, resource } from './resource.js';
export {
  type CatchupOptions,
  type DstOptions,
  type OverlapPolicy,
  type ScheduleDefinition,
  type ScheduleOptions,
  type ScheduleRunConfig,
  type ScheduleShouldRun,
  type ScheduleTick,
  schedule,
} from './schedule.js';
