import { signal } from '@preact/signals';

const APP_ROUTE = /\/(runs|pipelines|schedules|workers|daemons)(\/.*)?$/;

/**
 * Where the UI is mounted (`''` at the root, `/stepwise` under a user's base path): the page's path minus the app
 * route it names. The server answers every app route with the same index.html, so the page works it out itself.
 */
export const BASE_PATH = location.pathname.replace(APP_ROUTE, '').replace(/\/$/, '');

export interface Route {
  /** Path inside the app, always starting with `/`. */
  readonly path: string;
  readonly query: URLSearchParams;
}

function readLocation(): Route {
  const raw = location.pathname.startsWith(BASE_PATH) ? location.pathname.slice(BASE_PATH.length) : location.pathname;
  return { path: raw === '' ? '/' : raw, query: new URLSearchParams(location.search) };
}

export const route = signal<Route>(readLocation());

window.addEventListener('popstate', () => {
  route.value = readLocation();
});

/** An absolute URL path for an app path (for `href` and `fetch`). */
export function appUrl(path: string): string {
  return `${BASE_PATH}${path}`;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = appUrl(to);
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route.value = readLocation();
}

/**
 * Changes some query parameters of the current view, keeping the others: filters, selection and zoom live in the
 * URL so a reload or a shared link shows the same view. Replaces the history entry unless `push`.
 */
export function setQuery(patch: Readonly<Record<string, string | undefined>>, push = false): void {
  const query = new URLSearchParams(route.value.query);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || value === '') query.delete(key);
    else query.set(key, value);
  }
  const search = query.toString();
  navigate(`${route.value.path}${search ? `?${search}` : ''}`, { replace: !push });
}

/** Matches `/runs/:id` style patterns; returns the decoded params or undefined. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(g);
    else if (w !== g) return undefined;
  }
  return params;
}
