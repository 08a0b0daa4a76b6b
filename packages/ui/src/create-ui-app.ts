import { buildApp } from './app.js';
import { UiContext, type UiOptions } from './ui-context.js';

/** A web-standard fetch handler serving the UI, to mount in a user's own HTTP server. */
export interface UiApp {
  fetch(request: Request): Response | Promise<Response>;
  /** `app.request(path, init)`: the same handler called in process (tests, scripts). */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Releases the connections the app opened (Redis); the instance stays open. */
  close(): Promise<void>;
}

/**
 * The UI's server as a fetch handler (docs/ui.md): the JSON API and the built front end, under `basePath`. The
 * caller owns `instance` (open it before, close it after).
 */
export function createUiApp(options: UiOptions): UiApp {
  const ctx = new UiContext(options);
  const app = buildApp(ctx);
  return {
    close: () => ctx.close(),
    fetch: (request) => app.fetch(request),
    request: async (path, init) => app.request(path, init),
  };
}
