import { createHash } from 'node:crypto';
import { Workflow } from '@kubernetes-models/argo-workflows/argoproj.io/v1alpha1';
import type { CompiledPlan, RetryPolicy } from '@stepwise/core';
import { stringify } from 'yaml';
import { CompileError } from './errors.js';
import { argoTaskName, dnsLabel } from './names.js';
import { taskGraph } from './task-graph.js';

export interface ArgoWorkflowOptions {
  /** The pipeline file as the pods see it. */
  pipelineFile: string;
  /** The image with stepwise, the pipeline and the instance's stepwise.yaml. */
  image: string;
  /** The command that runs the CLI in the image. Default `stepwise`. */
  stepwiseCommand?: string;
}

/** Where the pods find the plan (an inline artifact) and leave a fan-out's mapping keys (an output parameter). */
const PLAN_PATH = '/tmp/stepwise/plan.json';
const KEYS_PATH = '/tmp/stepwise/mapping-keys.json';
const KEYS_PARAMETER = 'mapping-keys';

/** Argo durations: Go's time.ParseDuration units. */
function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function retryStrategy(retry: RetryPolicy): Record<string, unknown> {
  const backoff: Record<string, unknown> = { duration: duration(retry.delayMs ?? 0) };
  if (retry.backoff === 'exponential') backoff.factor = 2;
  return { limit: String(retry.maxRetries), backoff };
}

/**
 * The Workflow object (docs/deploy/argo.md): a DAG template with one task per step, `withParam` over a fan-out task's mapping
 * keys for a mapped step, and one container template per distinct retry policy (Argo sets `retryStrategy` on
 * templates, not on DAG tasks). The run id is `{{workflow.name}}`. Validated against Argo's schema.
 */
export function buildArgoWorkflow(compiled: CompiledPlan, options: ArgoWorkflowOptions): Record<string, unknown> {
  const tasks = taskGraph(compiled.plan);
  const names = new Map<string, string>();
  const seen = new Map<string, string>();
  for (const task of tasks) {
    const name = argoTaskName(task.stepKey);
    const other = seen.get(name.toLowerCase());
    if (other !== undefined)
      throw new CompileError(`steps '${other}' and '${task.stepKey}' get the same Argo task name '${name}'`);
    seen.set(name.toLowerCase(), task.stepKey);
    names.set(task.stepKey, name);
  }
  const nameOf = (key: string) => names.get(key) as string;
  const planJson = JSON.stringify(compiled);
  if (planJson.includes('{{')) {
    throw new CompileError(
      "the run config holds '{{', which Argo would read as a template tag in the inlined plan; leave it out of the run config (read it from the environment in the op)",
    );
  }
  const command = (options.stepwiseCommand ?? 'stepwise').split(/\s+/).filter(Boolean);
  const templates = new Map<string, Record<string, unknown>>();
  const templateFor = (retry: RetryPolicy | undefined): string => {
    const policy = retry ? JSON.stringify(retryStrategy(retry)) : '';
    const name = retry
      ? `stepwise-step-${createHash('sha256').update(policy).digest('hex').slice(0, 8)}`
      : 'stepwise-step';
    if (templates.has(name)) return name;
    const template: Record<string, unknown> = {
      name,
      inputs: {
        parameters: [{ name: 'step' }, { name: 'mapping-key', value: '' }],
        artifacts: [{ name: 'plan', path: PLAN_PATH, raw: { data: planJson } }],
      },
      outputs: { parameters: [{ name: KEYS_PARAMETER, valueFrom: { path: KEYS_PATH, default: '[]' } }] },
      container: {
        name: 'main',
        image: options.image,
        command,
        // No shell: the step key and mapping key are arguments, never parsed again.
        args: [
          'execute-step',
          '-f',
          options.pipelineFile,
          '--create-run',
          '--plan',
          PLAN_PATH,
          '--run-id',
          '{{workflow.name}}',
          '--step',
          '{{inputs.parameters.step}}',
          '--mapping-key',
          '{{inputs.parameters.mapping-key}}',
          '--keys-file',
          KEYS_PATH,
          // Argo has no "skipped" exit code: a skipped step succeeds, and the steps after it skip themselves.
          '--skip-exit-code',
          '0',
        ],
      },
    };
    if (retry) template.retryStrategy = retryStrategy(retry);
    templates.set(name, template);
    return name;
  };
  const dagTasks = tasks.map((task) => {
    const parameters: Array<{ name: string; value: string }> = [{ name: 'step', value: task.stepKey }];
    const dagTask: Record<string, unknown> = { name: nameOf(task.stepKey), template: templateFor(task.retry) };
    if (task.mappedOver) {
      parameters.push({ name: 'mapping-key', value: '{{item}}' });
      dagTask.withParam = `{{tasks.${nameOf(task.mappedOver)}.outputs.parameters.${KEYS_PARAMETER}}}`;
    }
    dagTask.arguments = { parameters };
    if (task.upstream.length > 0) dagTask.dependencies = task.upstream.map(nameOf);
    return dagTask;
  });
  const workflow = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      generateName: `${dnsLabel(compiled.pipeline, 50)}-`,
      labels: { 'stepwise/pipeline': dnsLabel(compiled.pipeline) },
    },
    spec: { entrypoint: 'main', templates: [{ name: 'main', dag: { tasks: dagTasks } }, ...templates.values()] },
  };
  try {
    new Workflow(workflow as ConstructorParameters<typeof Workflow>[0]).validate();
  } catch (error) {
    // A bug here, not the user's input: Argo's schema refuses what this function built.
    throw new Error(
      `internal: the Argo Workflow built for '${compiled.pipeline}' is invalid: ${(error as Error).message}`,
    );
  }
  return workflow;
}

/** The Workflow as YAML: byte-identical for the same inputs. */
export function renderArgoWorkflow(compiled: CompiledPlan, options: ArgoWorkflowOptions): string {
  return stringify(buildArgoWorkflow(compiled, options), { lineWidth: 0 });
}
