import elkModule from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { GraphEdge, GraphLayout, GraphNode, StepRow, StepStatus } from '../api-types.js';

// The CJS bundle under NodeNext: the default import is the module object; its `default` is the class.
const ELK = elkModule.default;

/** A step of the graph to draw: a plan step, or a pipeline step before any plan. */
export interface GraphStep {
  key: string;
  upstream: readonly string[];
  /** Copied once per item of this step's dynamic output. */
  mappedBy?: string;
}

const NODE_HEIGHT = 36;
const widthOf = (label: string) => Math.max(110, Math.min(320, 24 + label.length * 7));

/** Worst first: the status a group shows for its copies. */
const SEVERITY: StepStatus[] = [
  'FAILURE',
  'RUNNING',
  'UP_FOR_RETRY',
  'DISPATCHED',
  'READY',
  'CANCELED',
  'PENDING',
  'NOT_STARTED',
  'SKIPPED',
  'SUCCESS',
];

interface Shape {
  nodes: Array<Omit<GraphNode, 'x' | 'y'>>;
  edges: Array<{ id: string; from: string; to: string }>;
}

/** The nodes and edges: fan-out copies folded into one group per template unless expanded. */
export function graphShape(steps: readonly GraphStep[], rows: readonly StepRow[], expand: ReadonlySet<string>): Shape {
  const copies = new Map<string, StepRow[]>();
  for (const r of rows) {
    if (r.mappingKey === undefined) continue;
    const list = copies.get(r.planKey) ?? [];
    list.push(r);
    copies.set(r.planKey, list);
  }
  const status = new Map(rows.map((r) => [r.key, r.status]));
  const idsOf = new Map<string, string[]>();
  const nodes: Shape['nodes'] = [];
  for (const step of steps) {
    const own = copies.get(step.key) ?? [];
    if (step.mappedBy === undefined) {
      idsOf.set(step.key, [step.key]);
      const s = status.get(step.key);
      nodes.push({
        id: step.key,
        kind: 'step',
        stepKey: step.key,
        label: step.key,
        width: widthOf(step.key),
        height: NODE_HEIGHT,
        ...(s ? { status: s } : {}),
      });
    } else if (expand.has(step.key) && own.length > 0) {
      idsOf.set(
        step.key,
        own.map((r) => r.key),
      );
      for (const r of own) {
        nodes.push({
          id: r.key,
          kind: 'step',
          stepKey: r.key,
          label: r.key,
          width: widthOf(r.key),
          height: NODE_HEIGHT,
          status: r.status,
        });
      }
    } else {
      const id = `group:${step.key}`;
      idsOf.set(step.key, [id]);
      const counts: Partial<Record<StepStatus, number>> = {};
      for (const r of own) counts[r.status] = (counts[r.status] ?? 0) + 1;
      const worst = SEVERITY.find((s) => counts[s] !== undefined);
      const label = `${step.key} ×${own.length}`;
      nodes.push({
        id,
        kind: 'group',
        stepKey: step.key,
        label,
        width: widthOf(label),
        height: NODE_HEIGHT,
        count: own.length,
        statusCounts: counts,
        expanded: false,
        ...(worst ? { status: worst } : {}),
      });
    }
  }
  const edges: Shape['edges'] = [];
  const mappingOf = (id: string) => rows.find((r) => r.key === id)?.mappingKey;
  for (const step of steps) {
    const targets = idsOf.get(step.key) ?? [];
    for (const up of step.upstream) {
      const sources = idsOf.get(up) ?? [];
      const paired = sources.length > 1 && targets.length > 1;
      for (const from of sources) {
        for (const to of targets) {
          // Two expanded templates of one fan-out: copy k feeds copy k only.
          if (paired && mappingOf(from) !== mappingOf(to)) continue;
          edges.push({ id: `${from}->${to}`, from, to });
        }
      }
    }
  }
  return { nodes, edges };
}

/** Lays out a shape with elk (layered, top-down). */
export async function layOut(shape: Shape): Promise<GraphLayout> {
  const elk = new ELK();
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.spacing.nodeNode': '24',
      'elk.layered.spacing.nodeNodeBetweenLayers': '40',
      'elk.edgeRouting': 'POLYLINE',
    },
    children: shape.nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: shape.edges.map((e): ElkExtendedEdge => ({ id: e.id, sources: [e.from], targets: [e.to] })),
  };
  const result = await elk.layout(graph);
  const at = new Map((result.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
  const nodes: GraphNode[] = shape.nodes.map((n) => ({ ...n, ...(at.get(n.id) ?? { x: 0, y: 0 }) }));
  const routed = new Map(((result.edges ?? []) as ElkExtendedEdge[]).map((e) => [e.id, e]));
  const edges: GraphEdge[] = shape.edges.map((e) => {
    const section = routed.get(e.id)?.sections?.[0];
    const points = section ? [section.startPoint, ...(section.bendPoints ?? []), section.endPoint] : [];
    return { ...e, points: points.map((p) => ({ x: p.x, y: p.y })) };
  });
  return { width: result.width ?? 0, height: result.height ?? 0, nodes, edges };
}

/**
 * Layouts cached by what decides them (the plan's fingerprint and selection, expanded groups, copies per group):
 * statuses change on every event but never move a node, so they are painted onto a cached layout.
 */
export class GraphCache {
  private readonly layouts = new Map<string, Promise<GraphLayout>>();

  constructor(private readonly max = 100) {}

  async layout(key: string, shape: Shape): Promise<GraphLayout> {
    const cacheKey = `${key}|${shape.nodes.map((n) => `${n.id}:${n.count ?? ''}`).join(',')}`;
    let hit = this.layouts.get(cacheKey);
    if (!hit) {
      hit = layOut({ nodes: shape.nodes.map((n) => ({ ...n, width: n.width })), edges: shape.edges });
      hit.catch(() => this.layouts.delete(cacheKey));
      this.layouts.set(cacheKey, hit);
      if (this.layouts.size > this.max) this.layouts.delete(this.layouts.keys().next().value as string);
    }
    const cached = await hit;
    // Paint this call's statuses and counts onto the cached positions.
    const current = new Map(shape.nodes.map((n) => [n.id, n]));
    return {
      ...cached,
      nodes: cached.nodes.map((n) => {
        const now = current.get(n.id);
        const painted: GraphNode = { ...n };
        delete painted.status;
        return now ? { ...painted, ...now, x: n.x, y: n.y } : painted;
      }),
    };
  }
}
