import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { HealthResponse, MetaResponse } from './api-types.js';
import { errorAnswer } from './http/respond.js';
import { securityMiddleware } from './http/security.js';
import { eventRoutes } from './routes/events.js';
import { graphRoutes } from './routes/graphs.js';
import { launchRoutes } from './routes/launch.js';
import { operationRoutes } from './routes/operations.js';
import { pipelineRoutes } from './routes/pipelines.js';
import { runRoutes } from './routes/runs.js';
import { streamRoutes } from './routes/stream.js';
import type { UiContext } from './ui-context.js';
import { GraphCache } from './views/graph-layout.js';

/** Where `npm run build:web` puts the front end: inside the package, so an installed @stepwise/ui serves it. */
export const WEB_ROOT = fileURLToPath(new URL('../dist/web/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** The page's own scripts and styles only: run text rendered as HTML by mistake still cannot load or send anything. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

function storageKind(ctx: UiContext): string {
  const name = ctx.instance.storage.constructor.name;
  if (name.startsWith('Sqlite')) return 'sqlite';
  if (name.startsWith('Postgres')) return 'postgres';
  if (name.startsWith('Memory')) return 'memory';
  return name;
}

/** The UI's HTTP app: the JSON API of docs/ui.md and the built front end. */
export function buildApp(ctx: UiContext): Hono {
  const app = new Hono().basePath(ctx.basePath);
  app.onError((error, c) => {
    const { status, body } = errorAnswer(error);
    return c.json(body, status);
  });
  app.get('/healthz', (c) => c.json({ ok: true } satisfies HealthResponse));
  app.use('*', securityMiddleware(ctx));
  app.get('/api/meta', (c) => {
    const meta: MetaResponse = {
      readOnly: ctx.readOnly,
      tokenRequired: ctx.token !== undefined,
      file: ctx.file ?? null,
      storage: storageKind(ctx),
      redis: ctx.redis !== undefined,
      basePath: ctx.basePath,
    };
    return c.json(meta);
  });
  runRoutes(app, ctx);
  eventRoutes(app, ctx);
  launchRoutes(app, ctx);
  pipelineRoutes(app, ctx);
  operationRoutes(app, ctx);
  streamRoutes(app, ctx);
  graphRoutes(app, ctx, new GraphCache());
  app.all('/api/*', (c) => {
    const path = new URL(c.req.url).pathname.slice(ctx.basePath.length);
    return c.json({ error: { code: 'NOT_FOUND', message: `no API route ${c.req.method} ${path}` } }, 404);
  });
  app.get('*', async (c) => {
    const asset = await readAsset(new URL(c.req.url).pathname.slice(ctx.basePath.length));
    if (!asset) return c.text('not found', 404);
    return c.body(asset.body, 200, {
      'content-type': asset.type,
      'content-security-policy': CSP,
      'cache-control': asset.hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  });
  return app;
}

async function readAsset(path: string): Promise<{ body: ArrayBuffer; type: string; hashed: boolean } | undefined> {
  const relative = normalize(decodeURIComponent(path)).replace(/^(\.\.(\/|\\|$))+/, '');
  let file = join(WEB_ROOT, relative);
  // Built with a relative base, a page at /runs/x asks for /runs/assets/...: the asset is the same file.
  const assets = relative.lastIndexOf('/assets/');
  if (!existsSync(file) && assets > 0) file = join(WEB_ROOT, relative.slice(assets));
  // Unknown paths are front-end routes: the SPA's index.html answers them.
  const target =
    file.startsWith(WEB_ROOT) && existsSync(file) && extname(file) !== '' ? file : join(WEB_ROOT, 'index.html');
  if (!existsSync(target)) return undefined;
  const data = await readFile(target);
  const body = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const type = CONTENT_TYPES[extname(target)] ?? 'application/octet-stream';
  return { body, type, hashed: target.includes(`${join(WEB_ROOT, 'assets')}`) };
}
