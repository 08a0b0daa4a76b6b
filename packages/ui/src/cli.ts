import { serve } from '@hono/node-server';
import type { Command } from 'commander';
import { buildApp } from './app.js';

interface UiCommandOptions {
  readonly host: string;
  readonly port: string;
}

/** Adds `stepwise ui`. */
export function registerCommands(program: Command): void {
  program
    .command('ui')
    .description('serve the web UI and its HTTP API')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '3000')
    .action(async (opts: UiCommandOptions) => {
      const server = serve({ fetch: buildApp().fetch, hostname: opts.host, port: Number(opts.port) }, (info) => {
        process.stdout.write(`stepwise ui: http://${opts.host}:${info.port}/\n`);
      });
      await new Promise<void>((resolve) => process.once('SIGTERM', () => server.close(() => resolve())));
    });
}
