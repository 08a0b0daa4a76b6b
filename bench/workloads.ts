import { type OpDefinition, op, type PipelineDefinition, pipeline } from '@stepwise/core';
import { z } from 'zod';

/** A workload as plain data: steps with their upstream step keys, in topological order. */
export type Dag = { name: string; steps: Array<{ key: string; deps: string[] }> };

/** W1: `n` independent no-op steps and one join step that depends on all of them. */
export function w1(n = 2000): Dag {
  const steps: Dag['steps'] = [];
  for (let i = 0; i < n; i++) steps.push({ key: `s_${i}`, deps: [] });
  steps.push({ key: 'join', deps: steps.map((s) => s.key) });
  return { name: 'W1', steps };
}

/** W2: a chain of `n` steps, each depending on the one before. */
export function w2(n = 200): Dag {
  const steps: Dag['steps'] = [];
  for (let i = 0; i < n; i++) steps.push({ key: `c_${i}`, deps: i === 0 ? [] : [`c_${i - 1}`] });
  return { name: 'W2', steps };
}

function latticeKey(layer: number, index: number): string {
  return `l${layer}_${index}`;
}

/** W3: `layers` × `width`; each step of layer i > 0 depends on steps `j` and `(j + 1) % width` of layer i - 1. */
export function w3(layers = 20, width = 50): Dag {
  const steps: Dag['steps'] = [];
  for (let l = 0; l < layers; l++) {
    for (let j = 0; j < width; j++) {
      const deps = l === 0 ? [] : [latticeKey(l - 1, j), latticeKey(l - 1, (j + 1) % width)];
      // With width 1 both parents are the same step; list it once.
      steps.push({ key: latticeKey(l, j), deps: [...new Set(deps)] });
    }
  }
  return { name: 'W3', steps };
}

/** The no-op source step: no inputs, returns a tiny value. */
const source = op({ name: 'noop', out: z.number(), compute: () => 1 });

/** A no-op step fed by one upstream value. */
const next = op({ name: 'next', ins: { x: z.number() }, out: z.number(), compute: () => 1 });

/** A no-op fan-in step: takes the list of its upstream values. */
const gather = op({ name: 'gather', ins: { xs: z.array(z.number()) }, out: z.number(), compute: () => 1 });

/**
 * Builds a Stepwise pipeline with the same steps and edges as `dag`: steps without deps use the source op,
 * steps with one dep the single-input op, and steps with several deps the fan-in op.
 */
export function dagPipeline(dag: Dag, name = dag.name): PipelineDefinition {
  const nodes: Record<string, OpDefinition> = {};
  const deps: Record<string, Record<string, string | string[]>> = {};
  for (const step of dag.steps) {
    if (step.deps.length === 0) {
      nodes[step.key] = source.definition;
    } else if (step.deps.length === 1) {
      nodes[step.key] = next.definition;
      deps[step.key] = { x: step.deps[0] as string };
    } else {
      nodes[step.key] = gather.definition;
      deps[step.key] = { xs: step.deps };
    }
  }
  return pipeline({ name, nodes, deps });
}

/** W1 as a Stepwise pipeline (`n` sources + a fan-in join). */
export function w1Pipeline(n = 2000): PipelineDefinition {
  return dagPipeline(w1(n));
}

/** W2 as a Stepwise pipeline (a chain of `n`). */
export function w2Pipeline(n = 200): PipelineDefinition {
  return dagPipeline(w2(n));
}

/** W3 as a Stepwise pipeline (`layers` × `width` lattice, each step a fan-in of 2). */
export function w3Pipeline(layers = 20, width = 50): PipelineDefinition {
  return dagPipeline(w3(layers, width));
}
