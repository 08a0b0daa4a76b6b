import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

/** Where `npm run build:web` puts the front end: inside the package, so an installed @stepwise/ui serves it. */
export const WEB_ROOT = fileURLToPath(new URL('../dist/web/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.map': 'application/json',
};

export interface UiAppOptions {
  /** Mount point inside a user's server, e.g. `/stepwise`; `''` at the root. */
  readonly basePath?: string;
}

/** The UI's HTTP app: the JSON API of docs/ui.md and the built front end. */
export function buildApp(options: UiAppOptions = {}): Hono {
  const app = new Hono().basePath(options.basePath ?? '');
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('*', async (c) => {
    const asset = await readAsset(new URL(c.req.url).pathname.slice((options.basePath ?? '').length));
    if (asset) return c.body(asset.body, 200, { 'content-type': asset.type });
    return c.text('not found', 404);
  });
  return app;
}

async function readAsset(path: string): Promise<{ body: ArrayBuffer; type: string } | undefined> {
  const relative = normalize(path).replace(/^(\.\.(\/|\\|$))+/, '');
  const file = join(WEB_ROOT, relative);
  // Unknown paths are front-end routes: the SPA's index.html answers them.
  const target =
    file.startsWith(WEB_ROOT) && existsSync(file) && extname(file) !== '' ? file : join(WEB_ROOT, 'index.html');
  if (!existsSync(target)) return undefined;
  const data = await readFile(target);
  const body = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return { body, type: CONTENT_TYPES[extname(target)] ?? 'application/octet-stream' };
}
