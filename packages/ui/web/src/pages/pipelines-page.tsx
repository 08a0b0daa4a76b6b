import type { PipelinesResponse } from '../api/types.js';
import { Link } from '../components/link.js';
import { PlanGraph } from '../components/plan-graph.js';
import { route, setQuery } from '../lib/router.js';
import { readOnly } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';

/** The file's pipelines; the selected one's plan graph, and its launchpad. */
export function PipelinesPage({ selected }: { readonly selected?: string }) {
  const { data, error } = useApi<PipelinesResponse>('/api/pipelines');
  const expanded = (route.value.query.get('expand') ?? '').split(',').filter(Boolean);
  const pipeline = data?.pipelines.find((p) => p.name === selected);
  return (
    <section>
      <div class="page-title">
        <h1>Pipelines</h1>
      </div>
      {error && <div class="error-box">{error.message}</div>}
      <table data-testid="pipelines-table">
        <thead>
          <tr>
            <th>Pipeline</th>
            <th>Steps</th>
            <th>Schedules</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.pipelines.map((p) => (
            <tr key={p.name} class={p.name === selected ? 'selected' : ''}>
              <td>
                <Link to={`/pipelines/${encodeURIComponent(p.name)}`}>{p.name}</Link>
                {p.description && <span class="muted"> {p.description}</span>}
              </td>
              <td>{p.steps.length}</td>
              <td>{p.schedules.join(', ')}</td>
              <td>
                <Link to={`/runs?pipeline=${encodeURIComponent(p.name)}`}>runs</Link>
                {!readOnly.value && (
                  <>
                    {' · '}
                    <Link to={`/pipelines/${encodeURIComponent(p.name)}/launchpad`}>launchpad</Link>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {pipeline && (
        <div class="panel" style={{ marginTop: '12px' }}>
          <h2>{pipeline.name}</h2>
          <PlanGraph
            path={`/api/pipelines/${encodeURIComponent(pipeline.name)}/graph`}
            expanded={expanded}
            onToggle={(k) =>
              setQuery({
                expand: (expanded.includes(k) ? expanded.filter((x) => x !== k) : [...expanded, k]).join(','),
              })
            }
          />
        </div>
      )}
    </section>
  );
}
