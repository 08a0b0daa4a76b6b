export { ConfigError, type ConfigIssue } from './config-error.js';
export { DefinitionError } from './definition-error.js';
export { GraphError } from './graph-error.js';
export { LoadError } from './load-error.js';
export { NotFoundError } from './not-found-error.js';
export { SelectionError } from './selection-error.js';
export { StepwiseError } from './stepwise-error.js';
export { StorageError } from './storage-error.js';
export { TypeCheckError } from './type-check-error.js';
