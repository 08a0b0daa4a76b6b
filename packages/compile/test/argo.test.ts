import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workflow } from '@kubernetes-models/argo-workflows/argoproj.io/v1alpha1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runWorkflow, type WorkflowDoc } from './argo-runner.js';
import { inProcessOutputs, makeHome, PIPELINES, STEPWISE_CMD, stepwise, storedOutputs } from './harness.js';

/** Argo's rule for task and template names (workflow/validate/validate.go: workflowFieldNameFmt, max 128). */
const ARGO_NAME = /^[a-zA-Z0-9][-a-zA-Z0-9]{0,127}$/;

async function compile(home: string, file: string, pipeline: string): Promise<WorkflowDoc> {
  const result = await stepwise(
    ['argo', 'compile', '-f', PIPELINES, '-p', pipeline, '-o', file, '--image', 'registry.example/etl:1'],
    home,
  );
  expect(result.code, result.stderr).toBe(0);
  return parse(readFileSync(file, 'utf8')) as WorkflowDoc;
}

/** The checks Argo's controller makes that its schema does not: names, references, cycles. */
function checkWorkflow(doc: WorkflowDoc): void {
  const templates = new Map(doc.spec.templates.map((t) => [t.name, t]));
  for (const t of doc.spec.templates) expect(t.name, t.name).toMatch(ARGO_NAME);
  const dag = templates.get(doc.spec.entrypoint)?.dag;
  expect(dag).toBeDefined();
  const tasks = new Map((dag?.tasks ?? []).map((t) => [t.name, t]));
  expect(tasks.size).toBe(dag?.tasks.length);
  for (const task of tasks.values()) {
    expect(task.name).toMatch(ARGO_NAME);
    expect(templates.has(task.template), `${task.name} -> ${task.template}`).toBe(true);
    for (const d of task.dependencies ?? []) expect(tasks.has(d), `${task.name} depends on ${d}`).toBe(true);
    if (task.withParam !== undefined) {
      const [, source, parameter] = /^\{\{tasks\.([^.]+)\.outputs\.parameters\.([^}]+)\}\}$/.exec(task.withParam) ?? [];
      expect(task.dependencies).toContain(source);
      const outputs = templates.get(tasks.get(source as string)?.template ?? '')?.outputs?.parameters ?? [];
      expect(outputs.map((p) => p.name)).toContain(parameter);
    }
  }
  const seen = new Set<string>();
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    expect(visiting.has(name), `cycle through ${name}`).toBe(false);
    visiting.add(name);
    for (const d of tasks.get(name)?.dependencies ?? []) visit(d);
    visiting.delete(name);
    seen.add(name);
  };
  for (const name of tasks.keys()) visit(name);
}

describe('stepwise argo compile', { timeout: 300_000 }, () => {
  it('writes a Workflow that Argo schema and rules accept, one task per step, the same bytes each time', async () => {
    const { dir, home } = makeHome();
    const doc = await compile(home, join(dir, 'wf.yaml'), 'fanout');
    new Workflow(doc as unknown as ConstructorParameters<typeof Workflow>[0]).validate();
    checkWorkflow(doc);
    const plan = JSON.parse(
      doc.spec.templates.find((t) => t.inputs?.artifacts)?.inputs?.artifacts?.[0]?.raw?.data ?? '{}',
    ) as { plan: { steps: Array<{ key: string; upstream: string[] }> } };
    const tasks = doc.spec.templates.find((t) => t.dag)?.dag?.tasks ?? [];
    expect(tasks.map((t) => t.arguments?.parameters?.[0]?.value).sort()).toEqual(
      plan.plan.steps.map((s) => s.key).sort(),
    );
    const square = tasks.find((t) => t.name === 'square');
    expect(square?.withParam).toBe('{{tasks.numbers.outputs.parameters.mapping-keys}}');
    expect(doc.spec.templates.find((t) => t.name === square?.template)?.retryStrategy).toMatchObject({ limit: '2' });
    // after_odd and after_even are not valid Argo names as they are: changed, with a hash.
    expect(tasks.map((t) => t.name)).toContainEqual(expect.stringMatching(/^after-odd-[0-9a-f]{8}$/));
    await compile(home, join(dir, 'again.yaml'), 'fanout');
    expect(readFileSync(join(dir, 'again.yaml'))).toEqual(readFileSync(join(dir, 'wf.yaml')));
    // A Workflow Argo's schema refuses is caught by the model (what the compiler relies on).
    const broken = structuredClone(doc) as unknown as {
      spec: { templates: Array<{ dag?: { tasks: Array<{ dependencies?: unknown }> } }> };
    };
    const first = broken.spec.templates[0]?.dag?.tasks[0];
    if (first) first.dependencies = 'numbers';
    expect(() => new Workflow(broken as unknown as ConstructorParameters<typeof Workflow>[0]).validate()).toThrow(
      /dependencies must be array/,
    );
  });

  it('runs as Argo would (DAG order, withParam, retryStrategy): the run ends with the outputs of an in-process run', async () => {
    const { dir, home } = makeHome();
    const doc = await compile(home, join(dir, 'wf.yaml'), 'fanout');
    const name = `${doc.metadata.generateName}x7k2p`;
    const nodes = await runWorkflow(doc, name, STEPWISE_CMD, { STEPWISE_HOME: home });
    const phases = Object.fromEntries([...nodes].map(([k, v]) => [k, v.phase]));
    expect(phases).toMatchObject({
      numbers: 'Succeeded',
      square: 'Succeeded',
      total: 'Succeeded',
      report: 'Succeeded',
    });
    expect(nodes.get('square(1:n1)')?.tries).toBe(2);
    const skipped = [...nodes].find(([k]) => k.startsWith('after-odd'))?.[1];
    expect(skipped?.log).toMatch(/step after_odd of run .*: SKIPPED/);
    const { run, outputs } = await storedOutputs(home, name);
    expect(run.status).toBe('SUCCESS');
    expect(outputs).toEqual(await inProcessOutputs('fanout'));
  });

  it('an empty fan-out skips the mapped task and the collect step sums nothing', async () => {
    const { dir, home } = makeHome();
    const config = join(dir, 'none.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(config, 'ops:\n  numbers:\n    config: { count: 0 }\n');
    const result = await stepwise(
      ['argo', 'compile', '-f', PIPELINES, '-p', 'fanout', '-c', config, '-o', join(dir, 'wf.yaml')],
      home,
    );
    expect(result.code, result.stderr).toBe(0);
    const doc = parse(readFileSync(join(dir, 'wf.yaml'), 'utf8')) as WorkflowDoc;
    const name = `${doc.metadata.generateName}empty`;
    const nodes = await runWorkflow(doc, name, STEPWISE_CMD, { STEPWISE_HOME: home });
    expect(nodes.get('square')?.phase).toBe('Skipped');
    expect(nodes.get('total')?.phase).toBe('Succeeded');
    const { run, outputs } = await storedOutputs(home, name);
    expect(run.status).toBe('SUCCESS');
    expect(outputs['total.result']).toBe(0);
  });

  it('refuses in-memory step outputs and template tags in the plan, with exit 2 naming the fix', async () => {
    const { dir, home } = makeHome({ io: { memory: {} } });
    const result = await stepwise(
      ['argo', 'compile', '-f', PIPELINES, '-p', 'fanout', '-o', join(dir, 'wf.yaml')],
      home,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/io\.memory.*io\.fs on a volume every task can reach, or io\.redis/);
    const ok = makeHome();
    const config = join(ok.dir, 'tag.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(config, "tags: { note: 'see {{workflow.name}}' }\n");
    const tagged = await stepwise(['argo', 'compile', '-f', PIPELINES, '-p', 'fanout', '-c', config], ok.home);
    expect(tagged.code).toBe(2);
    expect(tagged.stderr).toMatch(/holds '\{\{', which Argo would read as a template tag/);
  });
});
