import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from './harness.js';

/** The parts of an Argo Workflow a compiled one has (the schema checks the rest). */
export interface WorkflowDoc {
  metadata: { generateName: string };
  spec: { entrypoint: string; templates: TemplateDoc[] };
}

interface Parameter {
  name: string;
  value?: string;
  valueFrom?: { path: string; default?: string };
}

export interface TemplateDoc {
  name: string;
  dag?: { tasks: DagTaskDoc[] };
  inputs?: { parameters?: Parameter[]; artifacts?: Array<{ name: string; path: string; raw?: { data: string } }> };
  outputs?: { parameters?: Parameter[] };
  retryStrategy?: { limit: string };
  container?: { name: string; image: string; command: string[]; args: string[] };
}

export interface DagTaskDoc {
  name: string;
  template: string;
  dependencies?: string[];
  withParam?: string;
  arguments?: { parameters?: Parameter[] };
}

/** What a node of the run did: Argo's phases, the tries of a pod, its output parameters and log. */
export interface NodeResult {
  phase: 'Succeeded' | 'Failed' | 'Skipped' | 'Omitted';
  tries: number;
  outputs: Record<string, string>;
  log: string;
}

const WITH_PARAM = /^\{\{tasks\.([^.]+)\.outputs\.parameters\.([^}]+)\}\}$/;

/** Argo's simple template tags: `{{inputs.parameters.x}}`, `{{workflow.name}}`, `{{item}}`. */
function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{([^}]+)\}\}/g, (whole, tag: string) => {
    const value = values[tag.trim()];
    if (value === undefined) throw new Error(`the runner has no value for ${whole}`);
    return value;
  });
}

/**
 * Runs a Workflow's DAG as Argo's controller would, with each pod emulated by a process: a task starts once every
 * task in its `dependencies` has Succeeded or been Skipped (a Failed one omits it), `withParam` expands it once per
 * item of the JSON list (an empty list: Skipped), a container's exit code fails it and `retryStrategy.limit` retries
 * it, raw input artifacts are written and output parameters read `valueFrom.path` (else `default`). Each pod's paths
 * under /tmp/stepwise are a directory of its own, and `stepwise` is `stepwiseCmd`.
 */
export async function runWorkflow(
  doc: WorkflowDoc,
  workflowName: string,
  stepwiseCmd: string,
  env: Record<string, string>,
): Promise<Map<string, NodeResult>> {
  const templates = new Map(doc.spec.templates.map((t) => [t.name, t]));
  const dag = templates.get(doc.spec.entrypoint)?.dag;
  if (!dag) throw new Error('the entrypoint is not a DAG template');
  const results = new Map<string, NodeResult>();
  const done = (name: string) => results.has(name);
  const pending = [...dag.tasks];
  while (pending.length > 0) {
    const ready = pending.filter((t) => (t.dependencies ?? []).every(done));
    if (ready.length === 0) throw new Error(`no task can start: ${pending.map((t) => t.name).join(', ')}`);
    await Promise.all(
      ready.map(async (task) => {
        pending.splice(pending.indexOf(task), 1);
        if ((task.dependencies ?? []).some((d) => !['Succeeded', 'Skipped'].includes(results.get(d)?.phase ?? ''))) {
          results.set(task.name, { phase: 'Omitted', tries: 0, outputs: {}, log: '' });
          return;
        }
        const template = templates.get(task.template);
        if (!template?.container) throw new Error(`task ${task.name}: no container template ${task.template}`);
        if (task.withParam === undefined) {
          results.set(task.name, await runPod(template, task, {}, workflowName, stepwiseCmd, env));
          return;
        }
        const [, source, parameter] = WITH_PARAM.exec(task.withParam) ?? [];
        const list = JSON.parse(results.get(source as string)?.outputs[parameter as string] ?? 'null') as unknown;
        if (!Array.isArray(list)) throw new Error(`withParam of ${task.name} is not a JSON list`);
        if (list.length === 0) {
          results.set(task.name, { phase: 'Skipped', tries: 0, outputs: {}, log: '' });
          return;
        }
        const items = await Promise.all(
          list.map((item) => runPod(template, task, { item: String(item) }, workflowName, stepwiseCmd, env)),
        );
        items.forEach((r, i) => {
          results.set(`${task.name}(${i}:${list[i]})`, r);
        });
        const failed = items.some((r) => r.phase === 'Failed');
        results.set(task.name, { phase: failed ? 'Failed' : 'Succeeded', tries: 0, outputs: {}, log: '' });
      }),
    );
  }
  return results;
}

async function runPod(
  template: TemplateDoc,
  task: DagTaskDoc,
  loop: Record<string, string>,
  workflowName: string,
  stepwiseCmd: string,
  env: Record<string, string>,
): Promise<NodeResult> {
  const container = template.container as NonNullable<TemplateDoc['container']>;
  const values: Record<string, string> = { 'workflow.name': workflowName, ...loop };
  const args = new Map((task.arguments?.parameters ?? []).map((p) => [p.name, p.value ?? '']));
  for (const p of template.inputs?.parameters ?? []) {
    const given = args.get(p.name);
    const value = given === undefined ? p.value : substitute(given, values);
    if (value === undefined) throw new Error(`task ${task.name}: input parameter ${p.name} has no value`);
    values[`inputs.parameters.${p.name}`] = value;
  }
  const limit = Number(template.retryStrategy?.limit ?? 0);
  let tries = 0;
  let log = '';
  for (;;) {
    tries++;
    const root = mkdtempSync(join(tmpdir(), 'argo-pod-'));
    const local = (path: string) => path.replace(/^\/tmp\/stepwise/, root);
    try {
      for (const artifact of template.inputs?.artifacts ?? []) {
        mkdirSync(dirname(local(artifact.path)), { recursive: true });
        writeFileSync(local(artifact.path), artifact.raw?.data ?? '');
      }
      const argv = container.args.map((a) => local(substitute(a, values)));
      const command = container.command[0] === 'stepwise' ? stepwiseCmd.split(' ') : container.command;
      const result = await run(command[0] as string, [...command.slice(1), ...argv], env, 120_000);
      log += result.stdout + result.stderr;
      const outputs: Record<string, string> = {};
      for (const p of template.outputs?.parameters ?? []) {
        const path = p.valueFrom?.path;
        let value: string | undefined;
        try {
          value = path === undefined ? undefined : readFileSync(local(path), 'utf8').trim();
        } catch {
          value = p.valueFrom?.default;
        }
        if (value !== undefined) outputs[p.name] = value;
      }
      if (result.code === 0) return { phase: 'Succeeded', tries, outputs, log };
      if (tries > limit) return { phase: 'Failed', tries, outputs, log };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
}
