import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { docsUrl, Instance, parsePositiveInt } from '@stepwise/core';
import type { Command } from 'commander';
import { buildApp } from './app.js';
import { UiStartError } from './errors.js';
import { closeLiveStreams } from './live/sse.js';
import { UiContext } from './ui-context.js';

interface UiCommandOptions {
  readonly file?: string;
  readonly host: string;
  readonly port: string;
  readonly token?: string;
  readonly readOnly?: boolean;
  readonly redis?: string;
  readonly prefix: string;
  readonly basePath?: string;
}

/** Addresses only this machine can reach: no token needed there. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `stepwise ui`: serves the UI on the local instance until SIGTERM/SIGINT, then closes streams and storage. */
async function uiCommand(opts: UiCommandOptions): Promise<void> {
  const token = opts.token ?? process.env.STEPWISE_UI_TOKEN;
  if (!isLoopback(opts.host) && (token === undefined || token === '')) {
    throw new UiStartError(
      `refusing to serve the UI on ${opts.host} without a token: anyone who reaches it could launch and cancel runs. ` +
        'Give one with --token T (or STEPWISE_UI_TOKEN), or bind 127.0.0.1',
    );
  }
  const port = opts.port === '0' ? 0 : parsePositiveInt(opts.port, '--port');
  const redisUrl = opts.redis ?? process.env.REDIS_URL;
  const instance = await Instance.local();
  const ctx = new UiContext({
    instance,
    ...(opts.file === undefined ? {} : { file: opts.file }),
    ...(token ? { token } : {}),
    readOnly: opts.readOnly === true,
    ...(redisUrl ? { redis: { url: redisUrl, prefix: opts.prefix } } : {}),
    ...(opts.basePath ? { basePath: opts.basePath } : {}),
  });
  const app = buildApp(ctx);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: opts.host, port }, (info) => {
      process.stdout.write(
        `stepwise ui: http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${info.port}${ctx.basePath}/\n`,
      );
      resolve(s as Server);
    });
    s.once('error', (error) => reject(new UiStartError(`cannot listen on ${opts.host}:${port}: ${error.message}`)));
  }).catch(async (error) => {
    await instance.close().catch(() => {});
    throw error;
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  // server.close waits for open responses: live streams end first, then idle keep-alive connections.
  closeLiveStreams();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1_000).unref();
  });
  await ctx.close();
  await instance.close();
}

/** Adds `stepwise ui`. */
export function registerCommands(program: Command): void {
  program
    .command('ui')
    .description(`serve the web UI and its HTTP API (${docsUrl('ui.md')})`)
    .option('-f, --file <file>', 'the definitions file: pipelines, launch, schedules')
    .option('--host <host>', 'address to bind (any other than loopback needs --token)', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '3000')
    .option('--token <token>', 'token every API call needs (default $STEPWISE_UI_TOKEN)')
    .option('--read-only', 'hide every action; state-changing calls answer 403')
    .option('--redis <url>', 'Redis of the workers and queues (default $REDIS_URL; without it no workers page)')
    .option('--prefix <prefix>', 'Redis key prefix shared with the workers', 'stepwise')
    .option('--base-path <path>', 'serve under this path, e.g. /stepwise')
    .action(async (opts: UiCommandOptions) => uiCommand(opts));
}
