import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { GraphLayout, GraphNode } from '../api/types.js';
import { useApi } from '../lib/use-api.js';

interface PlanGraphProps {
  /** `/api/runs/:id/graph` or `/api/pipelines/:name/graph`. */
  readonly path: string;
  readonly expanded: readonly string[];
  readonly onToggle: (planKey: string) => void;
  readonly selected?: string | undefined;
  readonly onSelect?: (stepKey: string) => void;
  /** Re-fetch (statuses) this often, for a live run. */
  readonly pollMs?: number | undefined;
}

const MARGIN = 200;

/**
 * The plan graph as laid out by the server (elk, cached per plan): nothing is laid out in the browser. Nodes and
 * edges outside the scrolled view are not rendered. A fan-out's copies are one group node; clicking it expands it.
 */
export function PlanGraph({ path, expanded, onToggle, selected, onSelect, pollMs }: PlanGraphProps) {
  const q = expanded.length ? `?expand=${encodeURIComponent(expanded.join(','))}` : '';
  const { data, error } = useApi<GraphLayout>(`${path}${q}`, pollMs);
  const ref = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ x: 0, y: 0, w: 1000, h: 400 });
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setView({ x: el.scrollLeft, y: el.scrollTop, w: el.clientWidth, h: el.clientHeight });
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    measure();
    return () => observer.disconnect();
  }, []);
  if (error) return <div class="error-box">{error.message}</div>;
  if (!data) return <div class="graph muted">laying out…</div>;
  const inView = (x: number, y: number, w: number, h: number) =>
    x + w >= view.x - MARGIN &&
    x <= view.x + view.w + MARGIN &&
    y + h >= view.y - MARGIN &&
    y <= view.y + view.h + MARGIN;
  const nodes = data.nodes.filter((n) => inView(n.x, n.y, n.width, n.height));
  const edges = data.edges.filter((e) => {
    const xs = e.points.map((p) => p.x);
    const ys = e.points.map((p) => p.y);
    const x0 = Math.min(...xs);
    const y0 = Math.min(...ys);
    return inView(x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0);
  });
  const label = (n: GraphNode) =>
    n.kind === 'group' ? `${n.expanded ? '▾' : '▸'} ${n.label}${n.count !== undefined ? ` ×${n.count}` : ''}` : n.label;
  return (
    <div
      class="graph"
      ref={ref}
      data-testid="plan-graph"
      onScroll={(e) => {
        const el = e.currentTarget;
        setView({ x: el.scrollLeft, y: el.scrollTop, w: el.clientWidth, h: el.clientHeight });
      }}
    >
      <div style={{ position: 'relative', width: `${data.width + 20}px`, height: `${data.height + 20}px` }}>
        <svg width={data.width + 20} height={data.height + 20} aria-hidden="true">
          {edges.map((e) => (
            <polyline
              key={e.id}
              points={e.points.map((p) => `${p.x},${p.y}`).join(' ')}
              fill="none"
              stroke="#b5bac4"
              stroke-width="1.2"
            />
          ))}
        </svg>
        {nodes.map((n) => (
          <button
            type="button"
            key={n.id}
            class={`gnode status-${n.status ?? 'none'}${n.stepKey === selected ? ' selected' : ''}`}
            data-node={n.stepKey}
            data-kind={n.kind}
            style={{ left: `${n.x}px`, top: `${n.y}px`, width: `${n.width}px`, height: `${n.height}px` }}
            title={n.statusCounts ? JSON.stringify(n.statusCounts) : n.label}
            onClick={() => (n.kind === 'group' ? onToggle(n.stepKey) : onSelect?.(n.stepKey))}
          >
            {label(n)}
          </button>
        ))}
      </div>
    </div>
  );
}
