import { ConnectionBadge } from './components/connection-badge.js';
import { Link } from './components/link.js';
import { matchPath, route } from './lib/router.js';
import { readOnly } from './lib/session.js';
import { DaemonsPage } from './pages/daemons-page.js';
import { LazyLaunchpad } from './pages/lazy-launchpad.js';
import { PipelinesPage } from './pages/pipelines-page.js';
import { RunPage } from './pages/run-page.js';
import { RunsPage } from './pages/runs-page.js';
import { SchedulesPage } from './pages/schedules-page.js';
import { WorkersPage } from './pages/workers-page.js';

const NAV: readonly [string, string][] = [
  ['/runs', 'Runs'],
  ['/pipelines', 'Pipelines'],
  ['/schedules', 'Schedules'],
  ['/workers', 'Workers'],
  ['/daemons', 'Daemons'],
];

function Page({ path }: { readonly path: string }) {
  if (path === '/' || path === '/runs') return <RunsPage />;
  const run = matchPath('/runs/:id', path);
  if (run) return <RunPage runId={run.id as string} />;
  if (path === '/pipelines') return <PipelinesPage />;
  const launch = matchPath('/pipelines/:name/launchpad', path);
  if (launch) return <LazyLaunchpad pipeline={launch.name as string} />;
  const pipeline = matchPath('/pipelines/:name', path);
  if (pipeline) return <PipelinesPage selected={pipeline.name as string} />;
  if (path === '/schedules') return <SchedulesPage />;
  if (path === '/workers') return <WorkersPage />;
  if (path === '/daemons') return <DaemonsPage />;
  return <p class="muted">No page at {path}.</p>;
}

/** The app shell: top bar (pages, stream state, read-only badge) and the page of the current URL. */
export function App() {
  const path = route.value.path;
  return (
    <div class="shell">
      <nav class="topbar">
        <span class="brand">Stepwise</span>
        {NAV.map(([to, label]) => (
          <Link key={to} to={to} class={path.startsWith(to) || (to === '/runs' && path === '/') ? 'active' : ''}>
            {label}
          </Link>
        ))}
        <span class="spacer" />
        {readOnly.value && <span class="badge-ro">read-only</span>}
        <ConnectionBadge />
      </nav>
      <main>
        <Page path={path} />
      </main>
    </div>
  );
}
