export type { MaterializationInput, OpContext, UserEvent } from './context.js';
export type {
  CollectHandle,
  DynamicHandle,
  DynamicScope,
  InputArg,
  InputBinding,
  NodeSpec,
  OutputHandle,
} from './composition.js';
export {
  dynamicItem,
  isDynamicItem,
  op,
  retryDelayMs,
  type DynamicItem,
  type Op,
  type OpDefinition,
  type OpOptions,
  type OutputDecl,
  type OutputDefinition,
  type OutputSpec,
  type RetryPolicy,
  type Schema,
} from './op.js';
export { pipeline, type DepSource, type PipelineDefinition, type PipelineOptions } from './pipeline.js';
export { repository, type RepositoryDefinition, type RepositoryOptions } from './repository.js';
export { resource, type ResourceDefinition, type ResourceInitContext, type ResourceOptions } from './resource.js';
