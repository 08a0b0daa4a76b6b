import { docsUrl } from '@stepwise/core';
import type { Command } from 'commander';
import { registerDaemonLoop } from '../loop-registry.js';
import { schedulerLoop } from '../scheduler/scheduler-loop.js';
import { scheduleBackfillCommand, scheduleExportCrontabCommand } from './schedule-backfill-command.js';
import {
  scheduleListCommand,
  schedulePreviewCommand,
  scheduleStatusCommand,
  scheduleTickCommand,
  scheduleTicksCommand,
} from './schedule-command.js';

type Act = <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>;
const FILE = ['-f, --file <file>', 'definitions file exporting the schedules'] as const;

/** Adds `stepwise schedule list | preview | start | stop | ticks | tick | backfill | export-crontab` (docs/scheduler.md) and the daemon's scheduler loop. */
export function registerScheduleCommands(program: Command, act: Act): void {
  registerDaemonLoop(schedulerLoop);
  const schedule = program
    .command('schedule')
    .description(`schedules of a definitions file and their ticks (see ${docsUrl('scheduler.md')})`);
  schedule
    .command('list')
    .description('name, pipeline, cron, timezone, status, next tick, last tick')
    .requiredOption(...FILE)
    .option('--json', 'one JSON document on stdout')
    .action(act((opts) => scheduleListCommand(opts)));
  schedule
    .command('preview <name>')
    .description('the next instants, in UTC and in the schedule’s zone')
    .requiredOption(...FILE)
    .option('--count <n>', 'how many instants (default 10)')
    .option('--from <iso>', 'start after this instant (default now)')
    .option('--json', 'one JSON document on stdout')
    .action(act((name, opts) => schedulePreviewCommand(name, opts)));
  for (const [verb, status] of [
    ['start', 'running'],
    ['stop', 'stopped'],
  ] as const) {
    schedule
      .command(`${verb} <name>`)
      .description(verb === 'start' ? 'start ticking from now (nothing missed is replayed)' : 'stop ticking')
      .requiredOption(...FILE)
      .action(act((name, opts) => scheduleStatusCommand(status, name, opts)));
  }
  schedule
    .command('ticks <name>')
    .description('tick history, newest first: scheduledAt, status, runIds, reason/error')
    .option('--limit <n>', 'how many ticks (default 20)')
    .option('--json', 'one JSON document on stdout')
    .action(act((name, opts) => scheduleTicksCommand(name, opts)));
  schedule
    .command('tick [names...]')
    .description('one scheduler pass (what cron calls): claims each due tick under the key the daemon uses')
    .requiredOption(...FILE)
    .option('--now <iso>', 'the pass’s instant (default now)')
    .action(act((names, opts) => scheduleTickCommand(names, opts)));
  schedule
    .command('backfill <name>')
    .description('one run per instant in [--from, --to], deduped by run key (an instant that ran is not run again)')
    .requiredOption(...FILE)
    .requiredOption('--from <iso>', 'first instant (inclusive)')
    .requiredOption('--to <iso>', 'last instant (inclusive)')
    .option('--json', 'one JSON document on stdout')
    .action(act((name, opts) => scheduleBackfillCommand(name, opts)));
  schedule
    .command('export-crontab')
    .description(
      `system-cron lines calling \`stepwise schedule tick\` (one every-minute line; see ${docsUrl('scheduler.md')})`,
    )
    .requiredOption(...FILE)
    .option('--cron-tz', 'one line per schedule pattern under CRON_TZ=<zone> (cronie) instead')
    .action(act((opts) => scheduleExportCrontabCommand(opts)));
}
