import { withInstance } from '@stepwise/core';
import { daemonStatuses } from '../daemon-status.js';

const ago = (ms: number) => (ms < 1_000 ? `${ms} ms ago` : `${(ms / 1_000).toFixed(1)} s ago`);

/** `stepwise daemon status`: the live daemons, their loops and each loop's last iteration. */
export function statusCommand(opts: { json?: boolean }): Promise<number> {
  return withInstance(async (instance) => {
    const now = Date.now();
    const daemons = (await daemonStatuses(instance, now)).filter((d) => d.alive);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ daemons }, null, 2)}\n`);
      return 0;
    }
    if (daemons.length === 0) {
      process.stdout.write('no live daemons\n');
      return 0;
    }
    for (const d of daemons) {
      process.stdout.write(`${d.daemonId}  host=${d.host} pid=${d.pid}  heartbeat ${ago(now - d.updatedAt)}\n`);
      for (const [name, loop] of Object.entries(d.loops)) {
        const last = loop.lastIterationAt === undefined ? 'not yet' : ago(now - loop.lastIterationAt);
        const error = loop.lastError ? `  error: ${loop.lastError}` : '';
        process.stdout.write(`  ${name.padEnd(10)} every ${loop.intervalMs} ms, last iteration ${last}${error}\n`);
      }
    }
    return 0;
  });
}
