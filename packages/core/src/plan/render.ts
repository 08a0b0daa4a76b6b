import type { ExecutionPlan, PlanInput, PlanStep } from './plan.js';

/** A template (a step inside a `.map()`) is shown as `key[*]`: one copy per item. */
const displayKey = (step: PlanStep) => (step.scope ? `${step.key}[*]` : step.key);

function describeInput(input: PlanInput): string {
  switch (input.from) {
    case 'step':
      return `${input.step}.${input.output}`;
    case 'fanIn':
      return `[${input.sources.map((s) => `${s.step}.${s.output}`).join(', ')}]`;
    case 'mapped':
      return `${input.step}.${input.output}[*]`;
    case 'collect':
      return `collect(${input.step}.${input.output})`;
    case 'config': {
      const json = JSON.stringify(input.value) ?? 'undefined';
      return `config ${json.length > 40 ? `${json.slice(0, 37)}...` : json}`;
    }
  }
}

/**
 * The plan as readable text: a header, then one line per step in order with its op, tags and where each
 * input comes from (`rows <- extract.rows`).
 */
export function renderPlanText(plan: ExecutionPlan): string {
  const lines: string[] = [];
  const count = `${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}`;
  lines.push(`plan of pipeline '${plan.pipeline}' (${count}, fingerprint ${plan.fingerprint})`);
  if (plan.selection) lines.push(`selection: ${plan.selection.join(', ')}`);
  const reused = Object.entries(plan.reuse);
  if (reused.length) lines.push(`reused outputs: ${reused.map(([k, run]) => `${k} from run ${run}`).join(', ')}`);
  const width = Math.min(40, Math.max(0, ...plan.steps.map((s) => displayKey(s).length)));
  plan.steps.forEach((step, i) => {
    const parts = [`${String(i + 1).padStart(String(plan.steps.length).length)}. ${displayKey(step).padEnd(width)}`];
    parts.push(`op=${step.op}`);
    const tags = Object.entries(step.tags);
    if (tags.length) parts.push(`tags{${tags.map(([k, v]) => `${k}=${v}`).join(', ')}}`);
    const inputs = Object.entries(step.inputs);
    if (inputs.length)
      parts.push(`inputs: ${inputs.map(([name, input]) => `${name} <- ${describeInput(input)}`).join(', ')}`);
    if (step.scope) parts.push(`(mapped over ${step.scope.step}.${step.scope.output})`);
    lines.push(parts.join('  '));
  });
  return `${lines.join('\n')}\n`;
}

/** The plan as pretty JSON; `JSON.parse` of it equals the plan. */
export function renderPlanJson(plan: ExecutionPlan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

const dotString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/**
 * The plan as a Graphviz digraph: one node per step (templates dashed, labelled `key[*]`; steps whose
 * outputs are reused from another run dotted), one edge per input source labelled `output -> input`.
 */
export function renderPlanDot(plan: ExecutionPlan): string {
  const lines = [`digraph ${dotString(plan.pipeline)} {`, '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];'];
  const inPlan = new Set(plan.steps.map((s) => s.key));
  const external = new Set<string>();
  const edges: string[] = [];
  const edge = (from: string, to: string, label: string, style?: string) => {
    if (!inPlan.has(from)) external.add(from);
    const attrs = [`label=${dotString(label)}`, ...(style ? [`style=${style}`] : [])];
    edges.push(`  ${dotString(from)} -> ${dotString(to)} [${attrs.join(', ')}];`);
  };
  for (const step of plan.steps) {
    const attrs = [`label=${dotString(`${displayKey(step)}\n(${step.op})`)}`];
    if (step.scope) attrs.push('style=dashed');
    lines.push(`  ${dotString(step.key)} [${attrs.join(', ')}];`);
    const fed = new Set<string>();
    for (const [name, input] of Object.entries(step.inputs)) {
      switch (input.from) {
        case 'step':
          edge(input.step, step.key, `${input.output} -> ${name}`);
          fed.add(input.step);
          break;
        case 'fanIn':
          for (const s of input.sources) {
            edge(s.step, step.key, `${s.output} -> ${name}`);
            fed.add(s.step);
          }
          break;
        case 'mapped':
          edge(input.step, step.key, `${input.output}[*] -> ${name}`, 'dashed');
          fed.add(input.step);
          break;
        case 'collect':
          edge(input.step, step.key, `collect ${input.output} -> ${name}`, 'bold');
          fed.add(input.step);
          break;
        case 'config':
          break;
      }
    }
    // Ordering-only dependencies (a template waits for its map's source even when no input reads it).
    for (const up of step.upstream) if (!fed.has(up)) edge(up, step.key, 'after', 'dotted');
  }
  for (const key of external) {
    const run = plan.reuse[key];
    const label = run ? `${key}\n(reused from run ${run})` : key;
    lines.push(`  ${dotString(key)} [label=${dotString(label)}, style=dotted];`);
  }
  lines.push(...edges, '}');
  return `${lines.join('\n')}\n`;
}
