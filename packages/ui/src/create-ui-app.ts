import { buildApp, type UiAppOptions } from './app.js';

/** A web-standard fetch handler serving the UI, to mount in a user's own HTTP server. */
export interface UiApp {
  fetch(request: Request): Response | Promise<Response>;
}

export function createUiApp(options: UiAppOptions = {}): UiApp {
  const app = buildApp(options);
  return { fetch: (request) => app.fetch(request) };
}
