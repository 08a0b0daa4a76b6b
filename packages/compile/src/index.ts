export { type AirflowDagOptions, mappingKeysTaskId, renderAirflowDag } from './airflow-dag.js';
export { type ArgoWorkflowOptions, buildArgoWorkflow, renderArgoWorkflow } from './argo-workflow.js';
export { registerCommands } from './commands.js';
export { type CompileOptions, type CompileResult, compilePipeline } from './compile-pipeline.js';
export { CompileError } from './errors.js';
export { airflowTaskId, argoTaskName, dnsLabel } from './names.js';
export { plugin } from './plugin.js';
export { type CompiledTask, taskGraph } from './task-graph.js';
