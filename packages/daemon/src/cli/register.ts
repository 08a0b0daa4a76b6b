import { type Command, Option } from 'commander';
import { daemonCommand } from './daemon-command.js';
import { registerScheduleCommands } from './register-schedule.js';
import { statusCommand } from './status-command.js';
import { submitCommand } from './submit-command.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Exit codes reach the CLI through process.exitCode (0 success, 2 misuse via thrown StepwiseErrors). */
export const act =
  <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
  async (...args: A) => {
    process.exitCode = await fn(...args);
  };

/** Adds `stepwise submit`, `stepwise daemon`, `stepwise daemon status` and `stepwise schedule` (docs/daemon.md). */
export function registerCommands(program: Command): void {
  program
    .command('submit')
    .description('queue a run for the daemon (validated now; prints the run id and returns at once)')
    .requiredOption('-f, --file <file>', 'pipeline file (.ts, .mts, .js)')
    .option('-p, --pipeline <name>', 'pipeline to run when the file has several')
    .addOption(
      new Option('-c, --config <file>', 'run config YAML; repeat to deep-merge several (later wins)').argParser(
        collect,
      ),
    )
    .addOption(new Option('--tag <key=value>', 'tag the run; repeatable').argParser(collect))
    .option('--priority <n>', 'run queue priority, higher first (the tag stepwise/priority)')
    .action(act((opts) => submitCommand(opts)));

  const daemon = program
    .command('daemon')
    .description('run the run queue, run monitoring and the scheduler until SIGTERM; several may run at once')
    .option('-f, --file <file>', 'definitions file whose schedules the scheduler loop ticks')
    .option('--no-scheduler', 'do not run the scheduler loop')
    .option('--no-run-queue', 'do not dequeue and launch submitted runs')
    .option('--no-monitor', 'do not watch runs in progress')
    .action(act((opts) => daemonCommand(opts)));
  daemon
    .command('status')
    .description('live daemons: host, pid, loops and the last iteration of each')
    .option('--json', 'one JSON document on stdout')
    .action(act((opts) => statusCommand(opts)));
  registerScheduleCommands(program, act);
}
