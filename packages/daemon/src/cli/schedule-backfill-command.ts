import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { loadDefinitions, resolveHome, STEPWISE_BIN, withInstance } from '@stepwise/core';
import { backfillSchedule } from '../scheduler/backfill.js';
import { renderCrontab } from '../scheduler/crontab.js';
import { schedulerPassContext } from '../scheduler/pass-context.js';
import { findSchedule, scheduleStore } from '../scheduler/schedule-state.js';
import { cliLogger, parseInstant } from './schedule-command.js';

const print = (text: string) => process.stdout.write(`${text}\n`);

/** `stepwise schedule backfill NAME --from --to`: one run per instant, deduped by run key; exit 1 if any failed. */
export async function scheduleBackfillCommand(
  name: string,
  opts: { file: string; from: string; to: string; json?: boolean },
): Promise<number> {
  const from = parseInstant(opts.from, '--from');
  const to = parseInstant(opts.to, '--to');
  const defs = await loadDefinitions(opts.file);
  const def = findSchedule(defs, name);
  return withInstance(async (instance) => {
    scheduleStore(instance.storage);
    const context = schedulerPassContext({
      instance,
      definitions: defs,
      owner: `${hostname()}:${process.pid}:backfill`,
      leaseMs: 60_000,
      logger: cliLogger(),
    });
    try {
      const entries = await backfillSchedule({ def, from, to, launch: context.launch, runStored: context.runStored });
      if (opts.json) print(JSON.stringify(entries, null, 2));
      else if (entries.length === 0) print(`schedule '${name}' has no instant in that range`);
      for (const e of opts.json ? [] : entries) {
        const what = 'runId' in e ? `${e.status} ${e.runId}` : `${e.status}  ${'reason' in e ? e.reason : e.error}`;
        print(`${e.scheduledAt}  ${what}`);
      }
      return entries.some((e) => e.status === 'failed') ? 1 : 0;
    } finally {
      await context.close();
    }
  });
}

/** `stepwise schedule export-crontab`: crontab lines on stdout (see docs/scheduler.md for the two forms). */
export async function scheduleExportCrontabCommand(opts: { file: string; cronTz?: boolean }): Promise<number> {
  const defs = await loadDefinitions(opts.file);
  const home = resolveHome();
  const log = join(home, 'logs', 'schedule-tick.log');
  // Cron's redirection fails when the directory is missing: make it now.
  mkdirSync(dirname(log), { recursive: true });
  process.stdout.write(
    renderCrontab({
      schedules: [...defs.schedules.values()],
      node: process.execPath,
      bin: STEPWISE_BIN,
      file: defs.file,
      home,
      log,
      cronTz: opts.cronTz === true,
    }),
  );
  return 0;
}
